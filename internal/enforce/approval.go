package enforce

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// ApprovalRecheck is how often an Enforce baseline without approval looks for one
// (an admin's re-approval changes no generation, so no spec event announces it).
const ApprovalRecheck = 5 * time.Second

// Approved reports whether the baseline's current effects were approved at admission,
// and whether that was learned just now (its reverts must then be planned afresh).
// Without an approval store every baseline counts as approved. hash is
// approval.EffectHash of rb's spec, computed when the baseline was loaded.
func (e *Enforcer) Approved(ctx context.Context, rb *v1alpha1.RoleBaseline, s *State, hash string) (ok, fresh bool, err error) {
	if e.Approvals == nil || s.isApproved(hash) {
		return true, false, nil
	}
	rec, err := e.Approvals.Load(ctx, rb)
	if err != nil {
		return false, false, err
	}
	if !rec.Covers(rb.UID, hash) {
		return false, false, nil
	}
	s.mu.Lock()
	s.approvedHash = hash
	s.mu.Unlock()
	select {
	case e.approved <- event.TypedGenericEvent[string]{Object: rb.Name}:
	default: // the Enforce controller's baseline request rechecks every ApprovalRecheck
	}
	return true, true, nil
}

// isApproved: the effects hashed to hash are approved.
func (s *State) isApproved(hash string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approvedHash != "" && s.approvedHash == hash
}

// ReportNotApproved sets Enforced=False/NotApproved and Stalled, and announces it
// once per spec.
func (e *Enforcer) ReportNotApproved(rb *v1alpha1.RoleBaseline, s *State, hash string) {
	msg := fmt.Sprintf("No admission review approved what generation %d asks the operator to write: the webhook was down, "+
		"bypassed or failing open, or the baseline predates approvals. Drift is reported, nothing is reverted. "+
		"Re-apply the baseline, or have someone allowed to make its writes approve it: "+
		"kubectl annotate rolebaseline %s %s=\"$(date +%%s)\" --overwrite", rb.Generation, rb.Name, approval.ReapproveAnnotation)
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonNotApproved, Message: text.Note(msg), ObservedGeneration: rb.Generation})
	rb.SetStalled(v1alpha1.ReasonNotApproved, text.Note(msg))
	s.mu.Lock()
	announce := s.unapprovedAnnounced != hash
	s.unapprovedAnnounced = hash
	s.mu.Unlock()
	if announce {
		e.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonNotApproved, "Enforce", "%s", text.Note(msg))
	}
}

// ReportRelaxed keeps a trace, in the Enforced condition, of who switched an Enforce
// baseline to Audit or dry run, as the webhook recorded it; without one the condition
// is removed (Audit never enforces). The approval is read once per spec.
func (e *Enforcer) ReportRelaxed(ctx context.Context, rb *v1alpha1.RoleBaseline, s *State, hash string) error {
	by, approver, err := e.relaxedBy(ctx, rb, s, hash)
	if err != nil {
		return err
	}
	if by == "" {
		meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionEnforced)
		return nil
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonEnforcementRelaxed, ObservedGeneration: rb.Generation,
		Message: text.Note(fmt.Sprintf("%s switched this baseline from Enforce to %s (last approved by %s): drift is reported, not reverted",
			by, rb.Spec.Mode, approver))})
	return nil
}

func (e *Enforcer) relaxedBy(ctx context.Context, rb *v1alpha1.RoleBaseline, s *State, hash string) (string, string, error) {
	if e.Approvals == nil {
		return "", "", nil
	}
	s.mu.Lock()
	if s.relaxedChecked == hash {
		defer s.mu.Unlock()
		return s.relaxedBy, s.relaxedApprover, nil
	}
	s.mu.Unlock()
	rec, err := e.Approvals.Load(ctx, rb)
	if err != nil {
		return "", "", err
	}
	by, approver := "", ""
	if rec != nil && rec.UID == rb.UID {
		by, approver = rec.RelaxedBy, rec.User
	}
	s.mu.Lock()
	s.relaxedChecked, s.relaxedBy, s.relaxedApprover = hash, by, approver
	s.mu.Unlock()
	return by, approver, nil
}

// Report sets the Enforced condition (and for Enforce, status.journal and the findings'
// reverted flags) for what Enforce mode did and may do for rb, and returns when to
// look again: an approval still missing, a fight that ends when quiet. all are the
// baseline's findings, needed for a dry run only.
func (e *Enforcer) Report(ctx context.Context, rb *v1alpha1.RoleBaseline, hash string, all []drift.Finding) (time.Duration, error) {
	s := e.State(rb)
	switch {
	case rb.Spec.Mode != v1alpha1.ModeEnforce:
		return 0, e.ReportRelaxed(ctx, rb, s, hash)
	case rb.Spec.Enforcement.DryRun:
		e.ReportDryRun(ctx, rb, s, all)
		return 0, nil
	}
	ok, _, err := e.Approved(ctx, rb, s, hash)
	if err != nil {
		return 0, err
	}
	if !ok {
		// Degrade to Audit: a spec nobody entitled submitted is never enforced.
		e.ReportNotApproved(rb, s, hash)
		return ApprovalRecheck, nil
	}
	now := e.Now()
	s.Report(rb, now)
	// Clear RevertLoopDetected once the fight has been quiet for a window.
	return s.FightsEndIn(now), nil
}
