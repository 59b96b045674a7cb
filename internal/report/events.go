package report

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/informers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// Event budget per baseline: a burst of EventBurst findings reported one by one, then
// one more every eventEvery. Past it, new findings are counted and summarised in a
// single MoreFindings event, so a mass change yields a few examples and a count.
const (
	EventBurst = 20
	eventEvery = 10 * time.Second
)

func newEventBudget() *rate.Limiter { return rate.NewLimiter(rate.Every(eventEvery), EventBurst) }

// emitEvents reports what changed since the findings last written: each fresh finding
// on the baseline and on the drifted object, and the resolved ones, within the
// baseline's event budget. Nothing changed, nothing emitted, so a resync or a restart
// makes no noise. It returns how long to wait before a held-back summary can be
// emitted, or 0.
func (r *Reporter) emitEvents(ctx context.Context, rb *v1alpha1.RoleBaseline, st *Memory,
	fresh []drift.Finding, resolved []findingKey) time.Duration {
	// Once findings are being held back, the next token goes to their summary.
	allow := func() bool { return st.suppressed == 0 && st.budget.Allow() }
	for i := range fresh {
		f := &fresh[i]
		if f.Type.IsAdvisory() {
			continue // advisory findings are in status, not worth an event each
		}
		if !allow() {
			st.suppressed++
			continue
		}
		reason := v1alpha1.ReasonDriftDetected
		if f.Type.IsViolation() {
			reason = v1alpha1.ReasonGuardrailViolated
		}
		by := byWhom(rb, f)
		r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, reason, "Evaluate", "%s", text.Note(fmt.Sprintf("%s: %s%s", f.Object, f.Message(), by)))
		if obj := r.cachedObject(ctx, f.Object); obj != nil {
			r.Recorder.Eventf(obj, rb, corev1.EventTypeWarning, reason, "Evaluate", "%s", text.Note(fmt.Sprintf("RoleBaseline %s: %s%s", rb.Name, f.Message(), by)))
		}
	}

	for _, k := range resolved {
		if k.typ.IsAdvisory() {
			continue
		}
		if !allow() {
			st.suppressed++
			continue
		}
		msg := fmt.Sprintf("%s on %s resolved", k.typ, k.object)
		r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1alpha1.ReasonDriftResolved, "Evaluate", "%s", text.Note(msg))
		if obj := r.cachedObject(ctx, k.object); obj != nil {
			r.Recorder.Eventf(obj, rb, corev1.EventTypeNormal, v1alpha1.ReasonDriftResolved, "Evaluate", "%s", text.Note("RoleBaseline "+rb.Name+": "+msg))
		}
	}

	if st.suppressed > 0 && st.budget.Allow() {
		r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonMoreFindings, "Evaluate",
			"%d finding changes not reported one by one; now %d drift(s), %d violation(s): see status.findings and status.counts",
			st.suppressed, rb.Status.Counts.Drifts, rb.Status.Counts.Violations)
		st.suppressed = 0
	}
	if st.suppressed == 0 {
		return 0
	}
	next := st.budget.Reserve()
	defer next.Cancel()
	return next.Delay()
}

// cachedObject reads an RBAC object from the cache; nil when it does not exist.
func (r *Reporter) cachedObject(ctx context.Context, ref drift.ObjectRef) client.Object {
	return informers.RBACObject(ctx, r.Client, ref)
}

func compareKeys(a, b findingKey) int {
	for _, c := range [][2]string{{string(a.typ), string(b.typ)}, {a.object.Kind, b.object.Kind},
		{a.object.Namespace, b.object.Namespace}, {a.object.Name, b.object.Name},
		{string(a.guardrail), string(b.guardrail)}, {a.subject, b.subject}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}
