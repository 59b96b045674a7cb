package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GrantPolicy is one rule of a baseline's spec.grants: which roles may be granted for
// a while, to whom, where, for how long, and who approves. A grant must match one
// rule in every field; a refusal names the rule and the field that does not match.
type GrantPolicy struct {
	// name identifies the rule in refusals and in a grant's status.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Name string `json:"name"`

	// roles that may be granted.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +required
	Roles []RoleRef `json:"roles"`

	// subjects who may be granted them: users, ServiceAccounts, or groups (a grant's
	// subject is allowed when it is a listed group's member by the requester's groups
	// at admission, or is the group itself).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +required
	Subjects []Subject `json:"subjects"`

	// namespaces a grant may name; omitted, any namespace the baseline's scope selects.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// clusterWide allows a ClusterRole granted cluster-wide (no namespaces).
	// +optional
	ClusterWide bool `json:"clusterWide,omitempty"`

	// maxDuration is the longest a grant may last, e.g. 4h.
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="maxDuration must be positive, e.g. 4h"
	// +required
	MaxDuration metav1.Duration `json:"maxDuration"`

	// approvers is the group whose members approve; omitted, a grant inside the rule
	// needs no approval. The requester never approves their own grant.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Approvers string `json:"approvers,omitempty"`

	// exceedCeilings lets what a grant gives go beyond the baseline's ceilings while it
	// is active (the finding then says "granted until ..."); guardrails still apply.
	// +optional
	ExceedCeilings bool `json:"exceedCeilings,omitempty"`
}
