// Package v1alpha1 holds the RoleBaseline and AccessGrant API of the guardrails.rbac-guardrails.io group.
//
// It depends on apimachinery and the core API types only, so the CLI, the webhook and
// other programs can import it without pulling in controller-runtime.
//
// +kubebuilder:object:generate=true
// +groupName=guardrails.rbac-guardrails.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "guardrails.rbac-guardrails.io", Version: "v1alpha1"}

	// SchemeBuilder registers this package's types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &RoleBaseline{}, &RoleBaselineList{}, &AccessGrant{}, &AccessGrantList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
