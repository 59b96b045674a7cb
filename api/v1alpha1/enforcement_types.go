package v1alpha1

// ViolationAction says what Enforce mode does about ceilings and guardrails.
// +kubebuilder:validation:Enum=Report;RemoveSubjects
type ViolationAction string

const (
	// ViolationReport reports ExceedsCeiling and GuardrailViolation findings only.
	ViolationReport ViolationAction = "Report"
	// ViolationRemoveSubjects removes the offending subjects from the granting binding.
	ViolationRemoveSubjects ViolationAction = "RemoveSubjects"
)

// Enforcement tunes how Enforce mode reverts drift. It has no effect in Audit mode.
type Enforcement struct {
	// dryRun computes and reports the revert plan (status and events) and applies nothing.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`

	// violations is Report (default: ceilings and guardrails are only reported) or
	// RemoveSubjects (the offending subjects are removed from the binding that grants them).
	// +kubebuilder:default=Report
	// +optional
	Violations ViolationAction `json:"violations,omitempty"`

	// includeOwned lets the operator revert objects that another controller owns
	// (a controller ownerReference). Off by default: the owner would write them back.
	// +optional
	IncludeOwned bool `json:"includeOwned,omitempty"`

	// maxRevertsPerMinute caps this baseline's writes to the API server.
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=6000
	// +optional
	MaxRevertsPerMinute int32 `json:"maxRevertsPerMinute,omitempty"`

	// journalLimit is how many journal entries (prior states, for undo) are kept for
	// this baseline; the oldest are pruned first.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	JournalLimit int32 `json:"journalLimit,omitempty"`
}
