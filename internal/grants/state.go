package grants

import (
	"time"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Step is what a grant needs now.
type Step int

const (
	// Hold: nothing to write; wait (for an approval, or until expiry).
	Hold Step = iota
	// Activate: create (or restore) the bindings, and record activation when first.
	Activate
	// Remove: delete the bindings; the grant has ended.
	Remove
)

// Plan is a grant's next state and step, and when to look again (0: on change only).
type Plan struct {
	State  v1alpha1.GrantState
	Step   Step
	Again  time.Duration
	Reason string // why, for the Ready condition and the event
}

// Next plans grant g at now. rule is the policy rule that allows it now, nil when none
// does; expiry is read from stored times only, so a grant overdue while the operator
// was down ends as soon as it is planned again.
func Next(g *v1alpha1.AccessGrant, rule *v1alpha1.GrantPolicy, now time.Time) Plan {
	st := &g.Status
	ended := st.State == v1alpha1.GrantExpired || st.State == v1alpha1.GrantRevoked || st.State == v1alpha1.GrantDenied
	switch {
	case ended:
		return Plan{State: st.State, Step: Remove, Reason: "the grant has ended"} // bindings someone re-created go again
	case g.Spec.Revoked || g.DeletionTimestamp != nil:
		return Plan{State: v1alpha1.GrantRevoked, Step: Remove, Reason: "revoked"}
	case g.Spec.Approval != nil && g.Spec.Approval.Decision == v1alpha1.GrantDecisionDenied:
		return Plan{State: v1alpha1.GrantDenied, Step: Remove, Reason: "denied by " + g.Spec.Approval.By}
	case st.ExpiresAt != nil && !now.Before(st.ExpiresAt.Time):
		return Plan{State: v1alpha1.GrantExpired, Step: Remove, Reason: "expired at " + st.ExpiresAt.UTC().Format(time.RFC3339)}
	case st.ExpiresAt != nil:
		// Active: keep the bindings in place until expiry, whatever the policy says
		// since; the policy decided at activation.
		return Plan{State: v1alpha1.GrantActive, Step: Activate, Again: st.ExpiresAt.Sub(now), Reason: "active until " + st.ExpiresAt.UTC().Format(time.RFC3339)}
	case rule == nil:
		return Plan{State: v1alpha1.GrantDenied, Step: Remove, Reason: "the baseline's spec.grants no longer allows it"}
	case rule.Approvers != "" && (g.Spec.Approval == nil || g.Spec.Approval.Decision != v1alpha1.GrantDecisionApproved):
		return Plan{State: v1alpha1.GrantPending, Step: Hold, Reason: "waiting for a member of " + rule.Approvers}
	}
	return Plan{State: v1alpha1.GrantActive, Step: Activate, Again: g.Spec.Duration.Duration, Reason: "activated"}
}
