package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
)

// approvalRecheck is how often an Enforce baseline without approval looks for one
// (an admin's re-approval changes no generation, so no spec event announces it).
const approvalRecheck = 5 * time.Second

// approved reports whether the baseline's current effects were approved at admission,
// and whether that was learned just now (its reverts must then be planned afresh).
// Without an approval store every baseline counts as approved.
// hash is approval.EffectHash of rb's spec, computed when its state was loaded.
func (r *RoleBaselineReconciler) approved(ctx context.Context, rb *v1alpha1.RoleBaseline, es *enforceState, hash string) (ok, fresh bool, err error) {
	if r.Approvals == nil {
		return true, false, nil
	}
	if es.isApproved(hash) {
		return true, false, nil
	}
	rec, err := r.Approvals.Load(ctx, rb)
	if err != nil {
		return false, false, err
	}
	if !rec.Covers(rb.UID, hash) {
		return false, false, nil
	}
	es.mu.Lock()
	es.approvedHash = hash
	es.mu.Unlock()
	return true, true, nil
}

// isApproved: the effects hashed to hash are approved.
func (es *enforceState) isApproved(hash string) bool {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.approvedHash != "" && es.approvedHash == hash
}

// reportNotApproved sets Enforced=False/NotApproved and announces it once per spec.
func (r *RoleBaselineReconciler) reportNotApproved(rb *v1alpha1.RoleBaseline, es *enforceState, hash string) {
	msg := fmt.Sprintf("No admission review approved what generation %d asks the operator to write: the webhook was down, "+
		"bypassed or failing open, or the baseline predates approvals. Drift is reported, nothing is reverted. "+
		"Re-apply the baseline, or have someone allowed to make its writes approve it: "+
		"kubectl annotate rolebaseline %s %s=\"$(date +%%s)\" --overwrite", rb.Generation, rb.Name, approval.ReapproveAnnotation)
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonNotApproved, Message: note(msg), ObservedGeneration: rb.Generation})
	setStalled(rb, v1alpha1.ReasonNotApproved, msg)
	es.mu.Lock()
	announce := es.unapprovedAnnounced != hash
	es.unapprovedAnnounced = hash
	es.mu.Unlock()
	if announce {
		r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonNotApproved, "Enforce", "%s", note(msg))
	}
}

// relaxedBy names who switched this baseline from Enforce to Audit or dry run, as the
// webhook recorded it, and its last approver; "" when nobody did or no store is set.
// It is read once per spec.
func (r *RoleBaselineReconciler) relaxedBy(ctx context.Context, rb *v1alpha1.RoleBaseline, es *enforceState, hash string) (string, string, error) {
	if r.Approvals == nil {
		return "", "", nil
	}
	es.mu.Lock()
	if es.relaxedChecked == hash {
		defer es.mu.Unlock()
		return es.relaxedBy, es.relaxedApprover, nil
	}
	es.mu.Unlock()
	rec, err := r.Approvals.Load(ctx, rb)
	if err != nil {
		return "", "", err
	}
	by, approver := "", ""
	if rec != nil && rec.UID == rb.UID {
		by, approver = rec.RelaxedBy, rec.User
	}
	es.mu.Lock()
	es.relaxedChecked, es.relaxedBy, es.relaxedApprover = hash, by, approver
	es.mu.Unlock()
	return by, approver, nil
}

// reportRelaxed keeps a trace, in the Enforced condition, of who switched an Enforce
// baseline to Audit; without one the condition is removed (Audit never enforces).
func reportRelaxed(rb *v1alpha1.RoleBaseline, by, approver string) {
	if by == "" {
		meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionEnforced)
		return
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonEnforcementRelaxed, ObservedGeneration: rb.Generation,
		Message: note(fmt.Sprintf("%s switched this baseline from Enforce to %s (last approved by %s): drift is reported, not reverted",
			by, rb.Spec.Mode, approver))})
}
