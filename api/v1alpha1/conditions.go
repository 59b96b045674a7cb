package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types on a RoleBaseline.
const (
	// ConditionReady is True when the baseline was evaluated against the live RBAC;
	// False when its spec cannot be evaluated or evaluation failed.
	ConditionReady = "Ready"
	// ConditionInSync is True when the live RBAC in scope matches the baseline: no
	// drift, no ceiling exceeded, no guardrail violated. Unused permissions are
	// advisory and do not make it False.
	ConditionInSync = "InSync"
	// ConditionEnforced, in Enforce mode only, is True when every revertible finding
	// was reverted; False while reverts are held back, skipped or failing.
	ConditionEnforced = "Enforced"
	// ConditionStalled is True, with Flux's meaning, when the operator cannot make
	// progress until someone acts: the spec cannot be used (reason InvalidSpec: change
	// it) or an Enforce spec awaits approval (reason NotApproved: approve it). Absent
	// otherwise; a transient failure is not a stall.
	ConditionStalled = "Stalled"
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

// Reasons of the Enforced condition. Events use the same words.
const (
	// ReasonReverted: every revertible finding was reverted (Enforced=True). Also the
	// event reason for each revert.
	ReasonReverted = "Reverted"
	// ReasonDryRun: spec.enforcement.dryRun is set; the plan is reported, nothing applied (Enforced=False).
	ReasonDryRun = "DryRun"
	// ReasonRevertFailed: a revert failed; it is retried with backoff (Enforced=False).
	ReasonRevertFailed = "RevertFailed"
	// ReasonRevertLoopDetected: an object was drifted again and again within a minute
	// (Enforced=False). The message names the writer. A person or an unknown writer is
	// reverted every time; only a writer named as another controller (its field
	// manager or audited identity) is backed off from, and its drift stays reported.
	ReasonRevertLoopDetected = "RevertLoopDetected"
	// ReasonRateLimited: reverts wait for the operator-wide revert budget (--revert-qps),
	// which shrinks while the API server answers 429 Too Many Requests (Enforced=False).
	ReasonRateLimited = "RateLimited"
	// ReasonNotApproved: no admission review found an author allowed to make the
	// writes this spec asks for (the webhook was down, bypassed or failing open, or the
	// baseline predates approvals): nothing is written, drift is only reported
	// (Enforced=False). Re-apply the baseline, or have an admin approve it (docs/security.md).
	ReasonNotApproved = "NotApproved"
	// ReasonEnforcementRelaxed: someone switched an Enforce baseline to Audit or dry
	// run; the event, and in Audit mode the Enforced condition (False), name them and
	// the last approver.
	ReasonEnforcementRelaxed = "EnforcementRelaxed"
	// ReasonRevertSkipped: findings on objects the operator will not touch (owned by
	// another controller, bootstrap or system objects) remain (Enforced=False).
	ReasonRevertSkipped = "RevertSkipped"
)

// Event reasons that are not condition reasons.
const (
	// ReasonDriftResolved: findings reported before are gone.
	ReasonDriftResolved = "DriftResolved"
	// ReasonMoreFindings: findings changed faster than the event budget reports one by one.
	ReasonMoreFindings = "MoreFindings"
	// ReasonChangeAttributed: the audit event naming who changed an object arrived after
	// its finding was reported.
	ReasonChangeAttributed = "ChangeAttributed"
)

// SetStalled marks the baseline Stalled for its current generation: it cannot
// progress until someone acts, as message says.
func (rb *RoleBaseline) SetStalled(reason, message string) {
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: ConditionStalled, Status: metav1.ConditionTrue,
		Reason: reason, Message: message, ObservedGeneration: rb.Generation})
}
