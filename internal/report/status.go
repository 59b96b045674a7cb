package report

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Bounds of status.findings. The CRD allows 100; the default lists the 20 most severe,
// as a policy engine's audit does per constraint, because every status write sends,
// validates, stores and watches the whole list: at 100 findings (about 26 kB) a status
// write cost the API server about 9 ms of CPU, several times a Role update. Counts
// always cover every finding.
const (
	DefaultStatusFindings = 20
	MaxStatusFindings     = 100
)

// findingKey identifies a finding across evaluations, to carry firstSeen and to tell
// new findings from resolved ones.
type findingKey struct {
	typ       v1alpha1.FindingType
	object    drift.ObjectRef
	guardrail v1alpha1.GuardrailID
	subject   string
}

func keyOf(f *v1alpha1.Finding) findingKey {
	k := findingKey{typ: f.Type, object: drift.RefFromAPI(f.Object), guardrail: f.Guardrail}
	if f.Subject != nil {
		k.subject = string(f.Subject.Kind) + "/" + f.Subject.Namespace + "/" + f.Subject.Name
	}
	return k
}

// desiredStatus computes the status for findings, keeping firstSeen from firstSeen
// and the conditions' transition times from the current status.
func desiredStatus(rb *v1alpha1.RoleBaseline, findings []v1alpha1.Finding, omitted int32, counts v1alpha1.FindingCounts,
	firstSeen func(findingKey) (time.Time, bool), now time.Time) v1alpha1.RoleBaselineStatus {
	st := *rb.Status.DeepCopy()
	st.ObservedGeneration = rb.Generation
	st.Counts = counts
	st.FindingsOmitted = omitted
	st.Findings = findings
	for i := range st.Findings {
		f := &st.Findings[i]
		seen, ok := firstSeen(keyOf(f))
		if !ok {
			seen = now
		}
		f.FirstSeen = &metav1.Time{Time: seen.Truncate(time.Second)}
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonEvaluated,
		Message: "The baseline was evaluated against the live RBAC", ObservedGeneration: rb.Generation,
	})
	meta.SetStatusCondition(&st.Conditions, inSyncCondition(rb.Generation, counts, findings))
	return st
}

func inSyncCondition(generation int64, counts v1alpha1.FindingCounts, findings []v1alpha1.Finding) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionInSync, ObservedGeneration: generation}
	switch {
	case counts.Drifts > 0:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonDriftDetected
	case counts.Violations > 0:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonGuardrailViolated
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonInSync
		c.Message = "The live RBAC in scope matches the baseline"
		return c
	}
	c.Message = summary(counts, findings)
	return c
}

// summary is a one-line account of what is wrong, for the InSync message.
func summary(counts v1alpha1.FindingCounts, findings []v1alpha1.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d drift(s), %d violation(s)", counts.Drifts, counts.Violations)
	if len(findings) > 0 {
		f := findings[0]
		fmt.Fprintf(&b, "; first: %s on %s", f.Type, drift.RefFromAPI(f.Object))
		if f.Guardrail != "" {
			fmt.Fprintf(&b, " (%s)", f.Guardrail)
		}
	}
	return b.String()
}

// StatusChanged reports whether a status write is needed: anything but
// lastEvaluationTime differs.
func StatusChanged(old, updated *v1alpha1.RoleBaselineStatus) bool {
	a, b := old.DeepCopy(), updated.DeepCopy()
	a.LastEvaluationTime, b.LastEvaluationTime = nil, nil
	return !equality.Semantic.DeepEqual(a, b)
}
