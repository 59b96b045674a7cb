package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IgnoreLabel opts a single RBAC object out of every baseline when set to "true".
const IgnoreLabel = "guardrails.rbac-guardrails.io/ignore"

// Scope selects the RBAC objects a baseline governs. A namespaced object is in scope
// when its namespace is listed or matches namespaceSelector; a cluster-scoped object
// when clusterScoped is true. objectSelector and exclude narrow both.
//
// +kubebuilder:validation:XValidation:rule="(has(self.namespaces) && size(self.namespaces) > 0) || has(self.namespaceSelector) || self.clusterScoped",message="spec.scope selects nothing: list namespaces, set namespaceSelector, or set clusterScoped to true"
type Scope struct {
	// namespaces lists namespaces in scope by name.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// namespaceSelector selects namespaces in scope by label, in addition to namespaces.
	// An empty selector selects every namespace.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// clusterScoped brings ClusterRoles and ClusterRoleBindings into scope.
	// +kubebuilder:default=false
	// +optional
	ClusterScoped bool `json:"clusterScoped,omitempty"`

	// objectSelector narrows the scope to RBAC objects whose labels match.
	// Declared roles and bindings skip this selector (exclusions still apply to them).
	// +optional
	ObjectSelector *metav1.LabelSelector `json:"objectSelector,omitempty"`

	// exclude takes objects out of scope. Objects named system:*, the bootstrap
	// ClusterRoles and ClusterRoleBindings (cluster-admin, admin, edit, view) and objects
	// labelled guardrails.rbac-guardrails.io/ignore=true are excluded unless
	// includeSystem is set. A RoleBinding named admin in a team namespace stays in scope.
	// +optional
	Exclude Exclusions `json:"exclude,omitempty"`
}

// Exclusions take RBAC objects out of a baseline's scope.
type Exclusions struct {
	// names excludes objects with exactly these names, in any namespace.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:MinLength=1
	// +optional
	Names []string `json:"names,omitempty"`

	// namePrefixes excludes objects whose names start with one of these prefixes.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:MinLength=1
	// +optional
	NamePrefixes []string `json:"namePrefixes,omitempty"`

	// namespaces excludes every object in these namespaces.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// includeSystem turns off the default exclusions: system:* objects, the bootstrap
	// roles and bindings, and the opt-out label. Use with care: the API server
	// reconciles its bootstrap RBAC and the operator will not fight it.
	// +optional
	IncludeSystem bool `json:"includeSystem,omitempty"`
}
