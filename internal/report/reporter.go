package report

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// Reporter computes what a baseline's status says (conditions, counts, findings and
// who changed them) from its evaluator, and announces what changed since the last
// pass in events and metrics. It remembers, per baseline, what it announced.
type Reporter struct {
	// Client reads the cache: the objects events are about.
	Client   client.Reader
	Recorder events.EventRecorder
	// Registry holds the evaluators (usage data is applied to it).
	Registry *registry.Registry
	// StatusFindings caps status.findings (DefaultStatusFindings when zero).
	StatusFindings int
	// Audit, when set, names who changed the objects of findings and supplies usage
	// data for UnusedPermission findings.
	Audit *AuditSources
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	memory memories
}

// Memory returns what is remembered of rb, new for a new UID.
func (r *Reporter) Memory(rb *v1alpha1.RoleBaseline) *Memory { return r.memory.of(rb) }

// Forget drops what is remembered of a deleted baseline, and its metrics, and
// returns the UID it had.
func (r *Reporter) Forget(name string) (types.UID, bool) {
	forgetBaseline(name)
	return r.memory.forget(name)
}

// Evaluate fills rb.Status from the entry's evaluator: findings, counts, Ready and
// InSync, who changed what. It emits the events of what changed since the last pass
// and returns how long until a held-back event summary is due (0: none) and, when
// needAll is set, every finding.
func (r *Reporter) Evaluate(ctx context.Context, rb *v1alpha1.RoleBaseline, entry *registry.Entry, mem *Memory, needAll bool) (time.Duration, []drift.Finding) {
	now := r.Now()
	limit := r.StatusFindings
	if limit <= 0 {
		limit = DefaultStatusFindings
	}
	var (
		top      []v1alpha1.Finding
		omitted  int32
		counts   v1alpha1.FindingCounts
		fresh    []drift.Finding
		resolved []findingKey
		all      []drift.Finding // only when needed: it copies every finding
	)
	entry.Read(func(ev *drift.Evaluator) {
		top, omitted = ev.Top(limit)
		counts = ev.Counts()
		added, removed, full, since := entry.TakeChanges(ev)
		mem.changed(since)
		if full || !mem.seeded {
			all = ev.Findings()
			prior := mem.reported.times()
			if !mem.seeded {
				prior, mem.seeded = seedReported(&rb.Status, all, counts), true
			}
			mem.reported, fresh, resolved = rebuild(prior, all, now)
		} else {
			fresh, resolved = mem.reported.apply(added, removed, now)
		}
		if needAll && all == nil {
			all = ev.Findings()
		}
	})
	prev := rb.Status.Findings
	rb.Status = desiredStatus(rb, top, omitted, counts, mem.reported.firstSeen, now)
	meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionStalled) // evaluated: progressing
	r.attribute(ctx, rb, prev)
	summaryIn := r.emitEvents(ctx, rb, mem, fresh, resolved)
	recordFindings(rb.Name, counts)
	return summaryIn, all
}

// NotEvaluated reports a baseline whose entry could not be loaded: EvaluationFailed
// while the registry retries reading the live RBAC, InvalidSpec (and Stalled, with an
// event once per generation) for a spec that cannot be used.
func (r *Reporter) NotEvaluated(rb *v1alpha1.RoleBaseline, entry *registry.Entry) {
	if entry.Stale {
		setNotReady(rb, v1alpha1.ReasonEvaluationFailed, "Reading the live RBAC: "+entry.Err.Error())
		return
	}
	if c := meta.FindStatusCondition(rb.Status.Conditions, v1alpha1.ConditionReady); c == nil ||
		c.Reason != v1alpha1.ReasonInvalidSpec || c.ObservedGeneration != rb.Generation {
		r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonInvalidSpec, "Evaluate", "%s", text.Note(entry.Err.Error()))
	}
	setNotReady(rb, v1alpha1.ReasonInvalidSpec, entry.Err.Error())
}

func setNotReady(rb *v1alpha1.RoleBaseline, reason, msg string) {
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: text.Note(msg), ObservedGeneration: rb.Generation})
	if reason == v1alpha1.ReasonInvalidSpec {
		rb.SetStalled(reason, text.Note("The spec cannot be used until it is changed: "+msg))
	} else {
		meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionStalled)
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionInSync, Status: metav1.ConditionUnknown,
		Reason: v1alpha1.ReasonPending, Message: "The baseline could not be evaluated; see the Ready condition", ObservedGeneration: rb.Generation})
	rb.Status.ObservedGeneration = rb.Generation
}
