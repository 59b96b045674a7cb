package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An AccessGrant asks for a role for a while: who gets it, which role, where, for how
// long and why. It is cluster-scoped, like the RoleBaseline whose spec.grants policy
// allows it, because a grant may be cluster-wide and its bindings may span namespaces;
// who may create one is ordinary RBAC on accessgrants, and what it may ask for is the
// policy's. See docs/access.md.

// GrantState is where a grant is in its life.
// +kubebuilder:validation:Enum=Pending;Approved;Active;Expired;Revoked;Denied
type GrantState string

const (
	// GrantPending waits for an approver.
	GrantPending GrantState = "Pending"
	// GrantApproved is approved (or needs no approval) and is about to be activated.
	GrantApproved GrantState = "Approved"
	// GrantActive has its bindings in place until expiresAt.
	GrantActive GrantState = "Active"
	// GrantExpired ran its duration; its bindings are gone.
	GrantExpired GrantState = "Expired"
	// GrantRevoked was ended early (spec.revoked, or deleted); its bindings are gone.
	GrantRevoked GrantState = "Revoked"
	// GrantDenied was refused by an approver; it never had bindings.
	GrantDenied GrantState = "Denied"
)

// GrantDecision is an approver's answer.
// +kubebuilder:validation:Enum=Approved;Denied
type GrantDecision string

const (
	GrantDecisionApproved GrantDecision = "Approved"
	GrantDecisionDenied   GrantDecision = "Denied"
)

// GrantApproval is an approver's decision. The admission webhook fills by from the
// request's user and refuses a decision by the requester or by someone outside the
// policy's approvers, or who may not grant the role themselves.
type GrantApproval struct {
	// decision is Approved or Denied.
	// +required
	Decision GrantDecision `json:"decision"`

	// by is the approver, as the API server authenticated them; set at admission.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	By string `json:"by,omitempty"`

	// comment is the approver's note.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Comment string `json:"comment,omitempty"`
}

// AccessGrantSpec is a request for a role, for a while.
//
// +kubebuilder:validation:XValidation:rule="self.role.kind == 'ClusterRole' || (has(self.namespaces) && size(self.namespaces) == 1)",message="spec.namespaces: a Role is granted in its own namespace: list exactly that one"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.approval) || (self.baseline == oldSelf.baseline && self.role == oldSelf.role && self.duration == oldSelf.duration && has(self.subject) == has(oldSelf.subject) && (!has(self.subject) || self.subject == oldSelf.subject) && has(self.namespaces) == has(oldSelf.namespaces) && (!has(self.namespaces) || self.namespaces == oldSelf.namespaces))",message="spec: a grant cannot be edited after its approval decision: create a new AccessGrant (only spec.revoked may change)"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.approval) || (has(self.approval) && self.approval == oldSelf.approval)",message="spec.approval: the decision is final: create a new AccessGrant"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.revoked) || !oldSelf.revoked || self.revoked",message="spec.revoked: a revoked grant stays revoked"
type AccessGrantSpec struct {
	// baseline is the RoleBaseline whose spec.grants policy allows this grant.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Baseline string `json:"baseline"`

	// requester is who created the grant, as the API server authenticated them; the
	// admission webhook sets it and refuses another value. It cannot change.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.requester cannot change"
	// +optional
	Requester string `json:"requester,omitempty"`

	// requesterGroups are the requester's groups at creation, which the policy's group
	// subjects are matched against; set by the admission webhook, like requester.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.requesterGroups cannot change"
	// +optional
	RequesterGroups []string `json:"requesterGroups,omitempty"`

	// subject gets the access; omitted, the requester (a ServiceAccount when the
	// requester is one).
	// +optional
	Subject *Subject `json:"subject,omitempty"`

	// role is the Role or ClusterRole granted.
	// +required
	Role RoleRef `json:"role"`

	// namespaces the role is granted in, by a RoleBinding in each; omitted, a
	// ClusterRole is granted cluster-wide by a ClusterRoleBinding. A Role is granted in
	// its own namespace, which is the one entry.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// duration the grant is active for, from activation, e.g. 30m or 2h; at most the
	// policy's maxDuration.
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="spec.duration must be positive, e.g. 30m or 2h"
	// +required
	Duration metav1.Duration `json:"duration"`

	// reason says why: the ticket, incident or change this access is for.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Reason string `json:"reason"`

	// approval is an approver's decision (kubectl guardrails approve|deny).
	// +optional
	Approval *GrantApproval `json:"approval,omitempty"`

	// revoked ends the grant now (kubectl guardrails revoke); deleting it does too.
	// +optional
	Revoked bool `json:"revoked,omitempty"`
}

// GrantBinding is a binding a grant created.
type GrantBinding struct {
	// kind is RoleBinding or ClusterRoleBinding.
	// +required
	Kind BindingKind `json:"kind"`

	// namespace of a RoleBinding.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name of the binding.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// AccessGrantStatus is where a grant is.
type AccessGrantStatus struct {
	// observedGeneration is the spec generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// state is Pending, Approved, Active, Expired, Revoked or Denied.
	// +optional
	State GrantState `json:"state,omitempty"`

	// subject is who the grant gives access to: spec.subject, or the requester.
	// +kubebuilder:validation:MaxLength=300
	// +optional
	Subject string `json:"subject,omitempty"`

	// policy is the name of the spec.grants rule that allows the grant.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Policy string `json:"policy,omitempty"`

	// activatedAt is when the bindings were created.
	// +optional
	ActivatedAt *metav1.Time `json:"activatedAt,omitempty"`

	// expiresAt is activatedAt plus spec.duration: computed once, from stored times,
	// so an operator that was down at that moment revokes it first thing on start.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// endedAt is when the bindings were removed.
	// +optional
	EndedAt *metav1.Time `json:"endedAt,omitempty"`

	// bindings are those the grant created.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Bindings []GrantBinding `json:"bindings,omitempty"`

	// conditions: Ready says whether the grant is valid and in place.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AccessGrant is access to a role for a while, allowed by a RoleBaseline's grants
// policy, approved where the policy says so, revoked on time.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ag,categories=guardrails
// +kubebuilder:printcolumn:name="Subject",type=string,JSONPath=`.status.subject`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role.name`
// +kubebuilder:printcolumn:name="Where",type=string,JSONPath=`.spec.namespaces`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessGrant struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the request.
	// +required
	Spec AccessGrantSpec `json:"spec"`

	// status is where the grant is.
	// +optional
	Status AccessGrantStatus `json:"status,omitempty"`
}

// AccessGrantList is a list of AccessGrants.
//
// +kubebuilder:object:root=true
type AccessGrantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessGrant `json:"items"`
}
