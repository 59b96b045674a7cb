package grants

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func TestNext(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }
	approved := &v1alpha1.GrantApproval{Decision: v1alpha1.GrantDecisionApproved, By: "bob"}
	needsLead := &v1alpha1.GrantPolicy{Name: "r", Approvers: "leads"}
	free := &v1alpha1.GrantPolicy{Name: "r"}
	grant := func(mut func(*v1alpha1.AccessGrant)) *v1alpha1.AccessGrant {
		g := &v1alpha1.AccessGrant{Spec: v1alpha1.AccessGrantSpec{Duration: metav1.Duration{Duration: time.Hour}}}
		mut(g)
		return g
	}
	tests := map[string]struct {
		g     *v1alpha1.AccessGrant
		rule  *v1alpha1.GrantPolicy
		state v1alpha1.GrantState
		step  Step
		again time.Duration
	}{
		"waits for approval":  {grant(func(*v1alpha1.AccessGrant) {}), needsLead, v1alpha1.GrantPending, Hold, 0},
		"approved, activated": {grant(func(g *v1alpha1.AccessGrant) { g.Spec.Approval = approved }), needsLead, v1alpha1.GrantActive, Activate, time.Hour},
		"no approval needed":  {grant(func(*v1alpha1.AccessGrant) {}), free, v1alpha1.GrantActive, Activate, time.Hour},
		"active, looks at expiry": {grant(func(g *v1alpha1.AccessGrant) {
			g.Status.ActivatedAt, g.Status.ExpiresAt = at(-20*time.Minute), at(40*time.Minute)
		}), free, v1alpha1.GrantActive, Activate, 40 * time.Minute},
		"active though the policy changed since": {grant(func(g *v1alpha1.AccessGrant) { g.Status.ExpiresAt = at(time.Minute) }), nil, v1alpha1.GrantActive, Activate, time.Minute},
		"expired exactly now":                    {grant(func(g *v1alpha1.AccessGrant) { g.Status.ExpiresAt = at(0) }), free, v1alpha1.GrantExpired, Remove, 0},
		"overdue after a stop":                   {grant(func(g *v1alpha1.AccessGrant) { g.Status.ExpiresAt = at(-3 * time.Hour) }), free, v1alpha1.GrantExpired, Remove, 0},
		"revoked while active":                   {grant(func(g *v1alpha1.AccessGrant) { g.Spec.Revoked, g.Status.ExpiresAt = true, at(time.Hour) }), free, v1alpha1.GrantRevoked, Remove, 0},
		"denied": {grant(func(g *v1alpha1.AccessGrant) {
			g.Spec.Approval = &v1alpha1.GrantApproval{Decision: v1alpha1.GrantDecisionDenied}
		}), needsLead, v1alpha1.GrantDenied, Remove, 0},
		"no rule allows it any more": {grant(func(*v1alpha1.AccessGrant) {}), nil, v1alpha1.GrantDenied, Remove, 0},
		"ended stays ended":          {grant(func(g *v1alpha1.AccessGrant) { g.Status.State = v1alpha1.GrantExpired }), free, v1alpha1.GrantExpired, Remove, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := Next(tc.g, tc.rule, now)
			if p.State != tc.state || p.Step != tc.step || p.Again != tc.again {
				t.Fatalf("got %s/%d/%s (%s), want %s/%d/%s", p.State, p.Step, p.Again, p.Reason, tc.state, tc.step, tc.again)
			}
		})
	}
}
