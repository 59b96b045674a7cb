package enforce

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// ReportDryRun plans the reverts of findings without applying them, sets the Enforced
// condition to the plan and announces newly planned actions.
func (e *Enforcer) ReportDryRun(ctx context.Context, rb *v1alpha1.RoleBaseline, s *State, findings []drift.Finding) {
	actions, _ := revert.Plan(&rb.Spec, findings, func(ref drift.ObjectRef) client.Object {
		return e.cached(ctx, ref, client.UnsafeDisableDeepCopy)
	})
	planned := map[string]bool{}
	var lines []string
	for _, a := range actions {
		line := fmt.Sprintf("%s %s", a.Kind, a.Ref)
		planned[line] = true
		lines = append(lines, line)
		if !s.dryRunPlanned[line] {
			e.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1alpha1.ReasonDryRun, "Revert", "Dry run: would %s to revert %s", line, TypesOf(a.Findings))
		}
	}
	s.dryRunPlanned = planned
	msg := "Dry run: nothing to revert"
	if len(lines) > 0 {
		msg = fmt.Sprintf("Dry run: %d revert(s) planned, none applied: %s", len(lines), strings.Join(lines, ", "))
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonDryRun, Message: text.Note(msg), ObservedGeneration: rb.Generation})
}
