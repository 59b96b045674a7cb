package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode says whether a baseline only reports drift or also reverts it.
// +kubebuilder:validation:Enum=Audit;Enforce
type Mode string

const (
	// ModeAudit reports drift in status and events and changes nothing.
	ModeAudit Mode = "Audit"
	// ModeEnforce reports drift and puts the cluster back on the baseline.
	ModeEnforce Mode = "Enforce"
)

// UnmanagedPolicy says what to do with in-scope RBAC objects the baseline does not declare.
// +kubebuilder:validation:Enum=Ignore;Report;Remove
type UnmanagedPolicy string

const (
	// UnmanagedIgnore leaves undeclared objects alone; ceilings and guardrails still apply to them.
	UnmanagedIgnore UnmanagedPolicy = "Ignore"
	// UnmanagedReport reports each undeclared object as an Unexpected finding.
	UnmanagedReport UnmanagedPolicy = "Report"
	// UnmanagedRemove reports undeclared objects and, in Enforce mode, deletes them.
	UnmanagedRemove UnmanagedPolicy = "Remove"
)

// MaxRoles and MaxBindings are the most roles and bindings one baseline declares (the
// schema's maxItems). At the sizes of real RBAC (about 530 bytes a role and 250 a
// binding, docs/reference.md) a full baseline takes about 1.06 MB, within etcd's
// 1.5 MiB object limit with room for metadata and status; the API server's CEL cost
// budget would allow about 6,400 of each.
const (
	MaxRoles    = 1024
	MaxBindings = 2048
)

// RoleBaselineSpec declares the least-privilege state of the RBAC objects in a scope.
//
// +kubebuilder:validation:XValidation:rule="!has(self.roles) || !self.roles.exists(r, r.kind == 'Role') || (has(self.scope.namespaces) && size(self.scope.namespaces) > 0) || has(self.scope.namespaceSelector)",message="spec.roles has a namespaced Role: set spec.scope.namespaces or spec.scope.namespaceSelector so the baseline knows where to expect it"
// +kubebuilder:validation:XValidation:rule="!has(self.bindings) || !self.bindings.exists(b, b.kind == 'RoleBinding') || (has(self.scope.namespaces) && size(self.scope.namespaces) > 0) || has(self.scope.namespaceSelector)",message="spec.bindings has a RoleBinding: set spec.scope.namespaces or spec.scope.namespaceSelector so the baseline knows where to expect it"
// +kubebuilder:validation:XValidation:rule="!has(self.roles) || !self.roles.exists(r, r.kind == 'ClusterRole') || self.scope.clusterScoped",message="spec.roles has a ClusterRole: set spec.scope.clusterScoped to true to bring cluster-scoped objects into scope"
// +kubebuilder:validation:XValidation:rule="!has(self.bindings) || !self.bindings.exists(b, b.kind == 'ClusterRoleBinding') || self.scope.clusterScoped",message="spec.bindings has a ClusterRoleBinding: set spec.scope.clusterScoped to true to bring cluster-scoped objects into scope"
type RoleBaselineSpec struct {
	// mode is Audit (report drift only) or Enforce (report drift and revert it).
	// +kubebuilder:default=Audit
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// scope selects the RBAC objects this baseline governs.
	// +required
	Scope Scope `json:"scope"`

	// roles are the Roles and ClusterRoles that must exist, with their rules. A Role
	// is expected in the namespaces it lists, or else in every namespace the scope
	// selects. One kind and name may be declared more than once for disjoint namespaces
	// (the operator refuses overlaps, naming both entries), so the list is atomic.
	// The limit keeps a full baseline within etcd's 1.5 MiB object limit (docs/reference.md).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	// +optional
	Roles []DesiredRole `json:"roles,omitempty"`

	// bindings are the RoleBindings and ClusterRoleBindings that must exist, with
	// their subjects; a RoleBinding is expected where roles says a Role is.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2048
	// +optional
	Bindings []DesiredBinding `json:"bindings,omitempty"`

	// subjects are per-subject permission ceilings: the most a user, group or
	// ServiceAccount may be granted through all bindings in scope together.
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(c, self.exists_one(o, o.subject.kind == c.subject.kind && o.subject.name == c.subject.name && has(o.subject.__namespace__) == has(c.subject.__namespace__) && (!has(o.subject.__namespace__) || o.subject.__namespace__ == c.subject.__namespace__)))",message="spec.subjects lists the same subject twice: merge its rules into one ceiling"
	// +optional
	Subjects []SubjectCeiling `json:"subjects,omitempty"`

	// guardrails choose which dangerous-permission rules of the catalog apply, their
	// severity, and the exceptions allowed.
	// +optional
	Guardrails Guardrails `json:"guardrails,omitempty"`

	// enforcement tunes how Enforce mode reverts drift: dry run, what to do about
	// violations, owned objects and journal size. Omitted, it takes every default.
	// +kubebuilder:default={}
	// +optional
	Enforcement Enforcement `json:"enforcement,omitempty"`

	// grants is the just-in-time access policy: which roles AccessGrants may give for a
	// while, to whom, where, for how long and with whose approval. A grant's binding
	// counts as declared while the grant is active. Rule names are unique.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Grants []GrantPolicy `json:"grants,omitempty"`

	// unmanaged says what to do with in-scope RBAC objects that roles and bindings do
	// not declare: Ignore (default), Report them as Unexpected, or Remove them in Enforce mode.
	// +kubebuilder:default=Ignore
	// +optional
	Unmanaged UnmanagedPolicy `json:"unmanaged,omitempty"`
}

// RoleBaselineStatus is the observed state of a RoleBaseline.
type RoleBaselineStatus struct {
	// observedGeneration is the spec generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready (the baseline could be evaluated) and InSync (no drift or
	// violation was found). Their reasons are documented in conditions.go.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// counts sums the findings by kind; it counts every finding, also those left out of findings.
	// +optional
	Counts FindingCounts `json:"counts,omitempty"`

	// findings lists the findings in a stable order, most severe first: 20 by default
	// (the operator's --status-findings-limit), at most 100.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Findings []Finding `json:"findings,omitempty"`

	// findingsOmitted is how many findings did not fit in findings.
	// +kubebuilder:validation:Minimum=0
	// +optional
	FindingsOmitted int32 `json:"findingsOmitted,omitempty"`

	// journal lists the most recent reverts, newest first, at most 20; the full journal
	// is kept as ConfigMaps (see docs/enforce.md for undo).
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Journal []JournalRecord `json:"journal,omitempty"`

	// lastEvaluationTime is when the findings last changed or the baseline was last
	// evaluated after a spec change.
	// +optional
	LastEvaluationTime *metav1.Time `json:"lastEvaluationTime,omitempty"`
}

// RoleBaseline declares the least-privilege RBAC state of a scope and reports drift from it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rbl,categories=guardrails
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="InSync",type=string,JSONPath=`.status.conditions[?(@.type=="InSync")].status`
// +kubebuilder:printcolumn:name="Drifts",type=integer,JSONPath=`.status.counts.drifts`
// +kubebuilder:printcolumn:name="Violations",type=integer,JSONPath=`.status.counts.violations`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RoleBaseline struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired least-privilege state.
	// +required
	Spec RoleBaselineSpec `json:"spec"`

	// status is the drift the operator observed.
	// +optional
	Status RoleBaselineStatus `json:"status,omitempty"`
}

// RoleBaselineList is a list of RoleBaselines.
//
// +kubebuilder:object:root=true
type RoleBaselineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RoleBaseline `json:"items"`
}
