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

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

const (
	// maxJournalRecords caps status.journal.
	maxJournalRecords = 20
	// pruneEvery is how many journal writes pass between prunes of old entries.
	pruneEvery = 10
)

// Revert events per baseline: a burst of revertEventBurst, then one every
// revertEventEvery; the others are counted in the next one. Every revert is still
// logged, journaled and counted in metrics; a mass restore does not also write
// thousands of Events while the API server is busy with the restore itself.
const (
	revertEventBurst = 20
	revertEventEvery = 5 * time.Second
)

// enforceState is the Enforce-mode memory of one baseline. The revert workers write
// it; the status reconcile reads it into the Enforced condition and status.journal.
type enforceState struct {
	mu     sync.Mutex
	guards map[drift.ObjectRef]*revert.Guard
	// outcomes is the last result of reverting each object that still needs attention
	// or was just reverted; an object with nothing to revert has none.
	outcomes map[drift.ObjectRef]outcome
	// unreported are journal records not yet in status, newest first.
	unreported []v1alpha1.JournalRecord
	reverts    int // reverts applied by this process
	sincePrune int
	pruning    atomic.Bool
	// events budgets Reverted events; eventsHeld counts those held back since the last.
	events     *rate.Limiter
	eventsHeld int
	// dryRunPlanned is touched only by the status reconcile.
	dryRunPlanned map[string]bool
	// approvedHash is the effect hash an admission approval covers (approval.go);
	// unapprovedAnnounced is the hash last announced as not approved.
	approvedHash, unapprovedAnnounced string
	// relaxedBy and relaxedApprover are read from the approval for the spec hashed to relaxedChecked.
	relaxedChecked, relaxedBy, relaxedApprover string
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

func newEnforceState() *enforceState {
	return &enforceState{guards: map[drift.ObjectRef]*revert.Guard{}, outcomes: map[drift.ObjectRef]outcome{},
		events: rate.NewLimiter(rate.Every(revertEventEvery), revertEventBurst)}
}

// guardOf returns an object's guard; es.mu must be held.
func (es *enforceState) guardOf(ref drift.ObjectRef) *revert.Guard {
	g := es.guards[ref]
	if g == nil {
		g = revert.NewGuard()
		es.guards[ref] = g
	}
	return g
}

// sweep forgets guards with nothing left to remember; es.mu must be held.
func (es *enforceState) sweep(now time.Time) {
	for ref, g := range es.guards {
		if g.Idle(now) {
			delete(es.guards, ref)
		}
	}
}

// fightsEndIn is when the earliest ongoing fight ends if quiet, so the condition can
// be cleared then (0: none).
func (es *enforceState) fightsEndIn(now time.Time) time.Duration {
	es.mu.Lock()
	defer es.mu.Unlock()
	var next time.Duration
	for _, g := range es.guards {
		if f := g.Active(now); f != nil {
			end := f.Last.Add(revert.LoopWindow)
			if g.Until().After(end) {
				end = g.Until()
			}
			next = minPositive(next, end.Sub(now)+time.Millisecond)
		}
	}
	return next
}

// report copies the revert state into the status: new journal records, the Enforced
// condition and the findings' reverted flags. It hands the journal records over; put
// them back with unreport if the status write fails.
func (es *enforceState) report(rb *v1alpha1.RoleBaseline, now time.Time) []v1alpha1.JournalRecord {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.sweep(now)
	taken := es.unreported
	es.unreported = nil
	if len(taken) > 0 {
		rb.Status.Journal = append(append([]v1alpha1.JournalRecord{}, taken...), rb.Status.Journal...)
		if len(rb.Status.Journal) > maxJournalRecords {
			rb.Status.Journal = rb.Status.Journal[:maxJournalRecords]
		}
	}
	for i := range rb.Status.Findings {
		f := &rb.Status.Findings[i]
		o, ok := es.outcomes[objectRef(f.Object)]
		f.Reverted = ok && o.kind == outcomeReverted
	}
	meta.SetStatusCondition(&rb.Status.Conditions, es.condition(rb.Generation, now))
	return taken
}

// unreport puts back journal records whose status write failed.
func (es *enforceState) unreport(records []v1alpha1.JournalRecord) {
	if len(records) == 0 {
		return
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	es.unreported = append(es.unreported, records...)
}

// condition summarises the outcomes and ongoing fights, the most serious first;
// es.mu must be held.
func (es *enforceState) condition(generation int64, now time.Time) metav1.Condition {
	byKind := map[outcomeKind][]string{}
	for _, o := range es.outcomes {
		byKind[o.kind] = append(byKind[o.kind], o.msg)
	}
	var fights []string
	for ref, g := range es.guards {
		if f := g.Active(now); f != nil {
			fights = append(fights, f.Describe(ref.String(), now, g.Until()))
		}
	}
	c := metav1.Condition{Type: v1alpha1.ConditionEnforced, ObservedGeneration: generation, Status: metav1.ConditionFalse}
	switch {
	case len(byKind[outcomeFailed]) > 0:
		c.Reason, c.Message = v1alpha1.ReasonRevertFailed, joinSorted(byKind[outcomeFailed])
	case len(fights) > 0:
		c.Reason, c.Message = v1alpha1.ReasonRevertLoopDetected, joinSorted(fights)
	case len(byKind[outcomeRateLimited]) > 0:
		c.Reason, c.Message = v1alpha1.ReasonRateLimited, "Reverts of "+joinSorted(byKind[outcomeRateLimited])+
			" wait for the operator-wide revert budget (--revert-qps), reduced while the API server throttles"
	case len(byKind[outcomeSkipped]) > 0:
		c.Reason, c.Message = v1alpha1.ReasonRevertSkipped, joinSorted(byKind[outcomeSkipped])
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonReverted
		c.Message = fmt.Sprintf("Nothing left to revert; %d revert(s) applied since the operator started", es.reverts)
	}
	c.Message = note(c.Message)
	return c
}

// reportDryRun sets the Enforced condition to the plan and announces newly planned actions.
func (r *RoleBaselineReconciler) reportDryRun(rb *v1alpha1.RoleBaseline, es *enforceState, actions []revert.Action) {
	planned := map[string]bool{}
	var lines []string
	for _, a := range actions {
		line := fmt.Sprintf("%s %s", a.Kind, a.Ref)
		planned[line] = true
		lines = append(lines, line)
		if !es.dryRunPlanned[line] {
			r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1alpha1.ReasonDryRun, "Revert", "Dry run: would %s to revert %s", line, typesOf(a.Findings))
		}
	}
	es.dryRunPlanned = planned
	msg := "Dry run: nothing to revert"
	if len(lines) > 0 {
		msg = fmt.Sprintf("Dry run: %d revert(s) planned, none applied: %s", len(lines), strings.Join(lines, ", "))
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionEnforced, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonDryRun, Message: note(msg), ObservedGeneration: rb.Generation})
}

func typesOf(fs []drift.Finding) string {
	var out []string
	seen := map[v1alpha1.FindingType]bool{}
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
