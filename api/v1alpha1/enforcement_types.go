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
//
// There is no per-baseline rate: reverts share one operator-wide budget sized to the
// API server (the --revert-qps flag), which slows down when the API server throttles
// (see docs/enforce.md). A revert is never held back for more than that.
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

	// journalLimit is how many journal entries (prior states, for undo) are kept for
	// this baseline; the oldest are pruned first.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	JournalLimit int32 `json:"journalLimit,omitempty"`
}

// DefaultJournalLimit is journalLimit when a stored baseline does not set it.
const DefaultJournalLimit = 100

// EffectiveJournalLimit is journalLimit, or its default when unset: baselines stored
// before the defaults were fixed may carry no value.
func (e *Enforcement) EffectiveJournalLimit() int {
	if e.JournalLimit <= 0 {
		return DefaultJournalLimit
	}
	return int(e.JournalLimit)
}

// EffectiveViolations is violations, or Report when unset.
func (e *Enforcement) EffectiveViolations() ViolationAction {
	if e.Violations == "" {
		return ViolationReport
	}
	return e.Violations
}
