package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FindingType says how a live RBAC object departs from its baseline.
// +kubebuilder:validation:Enum=Missing;RulesAdded;RulesRemoved;SubjectsAdded;SubjectsRemoved;RoleRefChanged;Unexpected;ExceedsCeiling;GuardrailViolation;UnusedPermission;IneffectiveRule
type FindingType string

const (
	// FindingMissing: a declared role or binding does not exist.
	FindingMissing FindingType = "Missing"
	// FindingRulesAdded: a role grants rules its declaration does not cover.
	FindingRulesAdded FindingType = "RulesAdded"
	// FindingRulesRemoved: a role lacks rules its declaration has.
	FindingRulesRemoved FindingType = "RulesRemoved"
	// FindingSubjectsAdded: a binding names subjects its declaration does not.
	FindingSubjectsAdded FindingType = "SubjectsAdded"
	// FindingSubjectsRemoved: a binding lacks subjects its declaration names.
	FindingSubjectsRemoved FindingType = "SubjectsRemoved"
	// FindingRoleRefChanged: a binding grants a different role than declared.
	FindingRoleRefChanged FindingType = "RoleRefChanged"
	// FindingUnexpected: an in-scope object the baseline does not declare (unmanaged Report or Remove).
	FindingUnexpected FindingType = "Unexpected"
	// FindingExceedsCeiling: a subject is granted more than its ceiling.
	FindingExceedsCeiling FindingType = "ExceedsCeiling"
	// FindingGuardrailViolation: an object matches a dangerous-permission guardrail.
	FindingGuardrailViolation FindingType = "GuardrailViolation"
	// FindingUnusedPermission: a granted rule was not used in the usage window (advisory).
	FindingUnusedPermission FindingType = "UnusedPermission"
	// FindingIneffectiveRule: a role names what grants nothing (a prefix wildcard such
	// as pods/*, a cluster-scoped resource in a Role); informational, almost always a
	// mistake. Neither drift nor a violation.
	FindingIneffectiveRule FindingType = "IneffectiveRule"
)

// IsDrift reports whether the type is a difference from declared roles and bindings.
func (t FindingType) IsDrift() bool {
	switch t {
	case FindingMissing, FindingRulesAdded, FindingRulesRemoved, FindingSubjectsAdded,
		FindingSubjectsRemoved, FindingRoleRefChanged, FindingUnexpected:
		return true
	}
	return false
}

// IsAdvisory reports whether the type is informational: listed in status, counted,
// never an event of its own, never reverted or refused.
func (t FindingType) IsAdvisory() bool {
	return t == FindingUnusedPermission || t == FindingIneffectiveRule
}

// IsViolation reports whether the type breaks a ceiling or a guardrail.
func (t FindingType) IsViolation() bool {
	return t == FindingExceedsCeiling || t == FindingGuardrailViolation
}

// ObjectReference names an RBAC object.
type ObjectReference struct {
	// kind is Role, ClusterRole, RoleBinding or ClusterRoleBinding.
	// +kubebuilder:validation:MaxLength=64
	// +required
	Kind string `json:"kind"`

	// namespace of a namespaced object.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name of the object.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// Finding is one departure of the live RBAC from the baseline.
type Finding struct {
	// type of the finding.
	// +required
	Type FindingType `json:"type"`

	// object the finding is about.
	// +required
	Object ObjectReference `json:"object"`

	// severity of the finding.
	// +optional
	Severity Severity `json:"severity,omitempty"`

	// guardrail that matched, for GuardrailViolation.
	// +optional
	Guardrail GuardrailID `json:"guardrail,omitempty"`

	// subject the finding is about, for ExceedsCeiling.
	// +optional
	Subject *Subject `json:"subject,omitempty"`

	// rules added, removed, beyond the ceiling or matching the guardrail (at most 10).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Rules []PolicyRule `json:"rules,omitempty"`

	// subjects added or removed (at most 10).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Subjects []Subject `json:"subjects,omitempty"`

	// message explains the finding for a person.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`

	// firstSeen is when the operator first observed this finding.
	// +optional
	FirstSeen *metav1.Time `json:"firstSeen,omitempty"`

	// changedBy is the user who last changed the object, from the audit log, when known:
	// "alice", or "alice (impersonated by bob)".
	// +kubebuilder:validation:MaxLength=512
	// +optional
	ChangedBy string `json:"changedBy,omitempty"`

	// changedAt is when changedBy made that change, from the audit log.
	// +optional
	ChangedAt *metav1.Time `json:"changedAt,omitempty"`

	// reverted is true once Enforce mode has put the object back.
	// +optional
	Reverted bool `json:"reverted,omitempty"`
}

// FindingCounts sums findings; printer columns read drifts and violations.
type FindingCounts struct {
	// drifts counts Missing, RulesAdded, RulesRemoved, SubjectsAdded, SubjectsRemoved,
	// RoleRefChanged and Unexpected findings.
	// +optional
	Drifts int32 `json:"drifts"`

	// violations counts ExceedsCeiling and GuardrailViolation findings.
	// +optional
	Violations int32 `json:"violations"`

	// unused counts advisory UnusedPermission findings.
	// +optional
	Unused int32 `json:"unused,omitempty"`

	// byType counts findings by type.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	ByType map[FindingType]int32 `json:"byType,omitempty"`
}

// RevertAction is what Enforce mode did to an object.
// +kubebuilder:validation:Enum=Create;Update;Delete;Recreate
type RevertAction string

const (
	// RevertCreate created a missing object.
	RevertCreate RevertAction = "Create"
	// RevertUpdate rewrote an object in place (rules, subjects or aggregationRule).
	RevertUpdate RevertAction = "Update"
	// RevertDelete deleted an unexpected object.
	RevertDelete RevertAction = "Delete"
	// RevertRecreate deleted and created a binding whose immutable roleRef changed.
	RevertRecreate RevertAction = "Recreate"
)

// JournalRecord points at a journal entry: the prior state of an object the operator changed.
type JournalRecord struct {
	// entry is the name of the ConfigMap holding the prior state.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Entry string `json:"entry"`

	// action the operator took.
	// +required
	Action RevertAction `json:"action"`

	// object the operator changed.
	// +required
	Object ObjectReference `json:"object"`

	// time of the change.
	// +required
	Time metav1.Time `json:"time"`
}
