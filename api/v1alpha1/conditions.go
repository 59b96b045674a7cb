package v1alpha1

// Condition types on a RoleBaseline.
const (
	// ConditionReady is True when the baseline was evaluated against the live RBAC;
	// False when its spec cannot be evaluated or evaluation failed.
	ConditionReady = "Ready"
	// ConditionInSync is True when the live RBAC in scope matches the baseline: no
	// drift, no ceiling exceeded, no guardrail violated. Unused permissions are
	// advisory and do not make it False.
	ConditionInSync = "InSync"
)

// Reasons of the Ready condition. Events use the same words.
const (
	// ReasonEvaluated: the baseline was evaluated (Ready=True).
	ReasonEvaluated = "Evaluated"
	// ReasonInvalidSpec: the spec passed the schema but cannot be evaluated, for
	// example a label selector that does not parse; the message names the field (Ready=False).
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonEvaluationFailed: reading the live RBAC or writing status failed; the
	// operator retries with backoff (Ready=False).
	ReasonEvaluationFailed = "EvaluationFailed"
)

// Reasons of the InSync condition. Events use the same words.
const (
	// ReasonInSync: nothing in scope departs from the baseline (InSync=True).
	ReasonInSync = "InSync"
	// ReasonDriftDetected: declared roles or bindings differ from the live ones, or
	// undeclared objects are reported (InSync=False).
	ReasonDriftDetected = "DriftDetected"
	// ReasonGuardrailViolated: a guardrail or ceiling is broken, and nothing else drifted (InSync=False).
	ReasonGuardrailViolated = "GuardrailViolated"
	// ReasonPending: the baseline has not been evaluated yet (InSync=Unknown).
	ReasonPending = "Pending"
)
