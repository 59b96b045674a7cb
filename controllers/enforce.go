package controllers

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// Revert-loop detection: loopThreshold reverts of one object within loopWindow mean
// another writer keeps undoing them; the object's reverts then back off from
// loopBackoffMin, doubling up to loopBackoffMax until it stays quiet for a loopWindow.
const (
	loopThreshold  = 3
	loopWindow     = time.Minute
	loopBackoffMin = 5 * time.Second
	loopBackoffMax = 10 * time.Minute
	// maxJournalRecords caps status.journal.
	maxJournalRecords = 20
	// pruneEvery is how many journal writes pass between prunes of old entries.
	pruneEvery = 10
	// failedRetry is when a revert that failed for another reason than a race is retried.
	failedRetry = 5 * time.Second
)

// enforceState is the Enforce-mode memory of one baseline. The revert workers write
// it; the status reconcile reads it into the Enforced condition and status.journal.
type enforceState struct {
	mu        sync.Mutex
	limiter   *rate.Limiter
	perMinute int32
	history   map[drift.ObjectRef]*revertHistory
	// outcomes is the last result of reverting each object that still needs attention
	// or was just reverted; an object with nothing to revert has none.
	outcomes map[drift.ObjectRef]outcome
	// unreported are journal records not yet in status, newest first.
	unreported []v1.JournalRecord
	reverts    int // reverts applied by this process
	sincePrune int
	pruning    atomic.Bool
	// dryRunPlanned is touched only by the status reconcile.
	dryRunPlanned map[string]bool
}

type outcomeKind int

const (
	outcomeReverted outcomeKind = iota
	outcomeSkipped
	outcomeRateLimited
	outcomeLooping
	outcomeFailed
)

// outcome of the last attempt to revert one object.
type outcome struct {
	kind outcomeKind
	msg  string
}

type revertHistory struct {
	recent  []time.Time
	last    time.Time
	backoff time.Duration
	until   time.Time
}

func newEnforceState() *enforceState {
	return &enforceState{history: map[drift.ObjectRef]*revertHistory{}, outcomes: map[drift.ObjectRef]outcome{}}
}

// limiterFor returns the baseline's revert rate limiter; es.mu must be held.
func (es *enforceState) limiterFor(perMinute int32) *rate.Limiter {
	if perMinute <= 0 {
		perMinute = 60
	}
	if es.limiter == nil || es.perMinute != perMinute {
		es.limiter = rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(1, int(perMinute)/6))
		es.perMinute = perMinute
	}
	return es.limiter
}

// historyOf returns an object's revert history; es.mu must be held.
func (es *enforceState) historyOf(ref drift.ObjectRef) *revertHistory {
	h := es.history[ref]
	if h == nil {
		h = &revertHistory{}
		es.history[ref] = h
	}
	return h
}

// report copies the revert state into the status: new journal records, the Enforced
// condition and the findings' reverted flags. It hands the journal records over; put
// them back with unreport if the status write fails.
func (es *enforceState) report(rb *v1.RoleBaseline) []v1.JournalRecord {
	es.mu.Lock()
	defer es.mu.Unlock()
	taken := es.unreported
	es.unreported = nil
	if len(taken) > 0 {
		rb.Status.Journal = append(append([]v1.JournalRecord{}, taken...), rb.Status.Journal...)
		if len(rb.Status.Journal) > maxJournalRecords {
			rb.Status.Journal = rb.Status.Journal[:maxJournalRecords]
		}
	}
	for i := range rb.Status.Findings {
		f := &rb.Status.Findings[i]
		o, ok := es.outcomes[objectRef(f.Object)]
		f.Reverted = ok && o.kind == outcomeReverted
	}
	meta.SetStatusCondition(&rb.Status.Conditions, es.condition(rb.Generation))
	return taken
}

// unreport puts back journal records whose status write failed.
func (es *enforceState) unreport(records []v1.JournalRecord) {
	if len(records) == 0 {
		return
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	es.unreported = append(es.unreported, records...)
}

// condition summarises the outcomes, the most serious first; es.mu must be held.
func (es *enforceState) condition(generation int64) metav1.Condition {
	byKind := map[outcomeKind][]string{}
	for _, o := range es.outcomes {
		byKind[o.kind] = append(byKind[o.kind], o.msg)
	}
	c := metav1.Condition{Type: v1.ConditionEnforced, ObservedGeneration: generation, Status: metav1.ConditionFalse}
	switch {
	case len(byKind[outcomeFailed]) > 0:
		c.Reason, c.Message = v1.ReasonRevertFailed, joinSorted(byKind[outcomeFailed])
	case len(byKind[outcomeLooping]) > 0:
		c.Reason, c.Message = v1.ReasonRevertLoopDetected, "Another writer keeps undoing reverts of "+joinSorted(byKind[outcomeLooping])+"; backing off"
	case len(byKind[outcomeRateLimited]) > 0:
		c.Reason, c.Message = v1.ReasonRateLimited, fmt.Sprintf("Reverts of %s wait for spec.enforcement.maxRevertsPerMinute (%d)",
			joinSorted(byKind[outcomeRateLimited]), es.perMinute)
	case len(byKind[outcomeSkipped]) > 0:
		c.Reason, c.Message = v1.ReasonRevertSkipped, joinSorted(byKind[outcomeSkipped])
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1.ReasonReverted
		c.Message = fmt.Sprintf("Nothing left to revert; %d revert(s) applied since the operator started", es.reverts)
	}
	c.Message = note(c.Message)
	return c
}

// recordRevert notes a revert and reports whether it makes a loop, arming the backoff.
func (h *revertHistory) recordRevert(now time.Time) bool {
	if !h.last.IsZero() && now.Sub(h.last) >= loopWindow {
		h.backoff = 0 // a quiet window ends the previous loop
	}
	h.last = now
	kept := h.recent[:0]
	for _, t := range h.recent {
		if now.Sub(t) < loopWindow {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	h.recent = kept
	if len(h.recent) < loopThreshold {
		return false
	}
	h.backoff = min(max(h.backoff*2, loopBackoffMin), loopBackoffMax)
	h.until = now.Add(h.backoff)
	h.recent = h.recent[:0]
	return true
}

// reportDryRun sets the Enforced condition to the plan and announces newly planned actions.
func (r *RoleBaselineReconciler) reportDryRun(rb *v1.RoleBaseline, es *enforceState, actions []revert.Action) {
	planned := map[string]bool{}
	var lines []string
	for _, a := range actions {
		line := fmt.Sprintf("%s %s", a.Kind, a.Ref)
		planned[line] = true
		lines = append(lines, line)
		if !es.dryRunPlanned[line] {
			r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1.ReasonDryRun, "Revert", "Dry run: would %s to revert %s", line, typesOf(a.Findings))
		}
	}
	es.dryRunPlanned = planned
	msg := "Dry run: nothing to revert"
	if len(lines) > 0 {
		msg = fmt.Sprintf("Dry run: %d revert(s) planned, none applied: %s", len(lines), strings.Join(lines, ", "))
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1.ReasonDryRun, Message: note(msg), ObservedGeneration: rb.Generation})
}

func typesOf(fs []drift.Finding) string {
	var out []string
	seen := map[v1.FindingType]bool{}
	for _, f := range fs {
		if !seen[f.Type] {
			seen[f.Type] = true
			out = append(out, string(f.Type))
		}
	}
	return strings.Join(out, ", ")
}

func joinSorted(lines []string) string {
	slices.Sort(lines)
	return strings.Join(lines, "; ")
}
