package enforce

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

const (
	// MaxJournalRecords caps status.journal.
	MaxJournalRecords = 20
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

// State is the Enforce-mode memory of one baseline. Reverts write it; the status
// controller reads it into the Enforced condition and status.journal.
type State struct {
	uid    types.UID
	mu     sync.Mutex
	guards map[drift.ObjectRef]*revert.Guard
	// outcomes is the last result of reverting each object that still needs attention
	// or was just reverted; an object with nothing to revert has none.
	outcomes map[drift.ObjectRef]outcome
	// recent are the newest journal records, newest first: status.journal is merged
	// with them on every status write, so a failed write loses none.
	recent     []v1alpha1.JournalRecord
	reverts    int // reverts applied by this process
	sincePrune int
	pruning    atomic.Bool
	// events budgets Reverted events; eventsHeld counts those held back since the last.
	events     *rate.Limiter
	eventsHeld int
	// dryRunPlanned is touched only by the status controller.
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

func newState(uid types.UID) *State {
	return &State{uid: uid, guards: map[drift.ObjectRef]*revert.Guard{}, outcomes: map[drift.ObjectRef]outcome{},
		events: rate.NewLimiter(rate.Every(revertEventEvery), revertEventBurst)}
}

// guardOf returns an object's guard; s.mu must be held.
func (s *State) guardOf(ref drift.ObjectRef) *revert.Guard {
	g := s.guards[ref]
	if g == nil {
		g = revert.NewGuard()
		s.guards[ref] = g
	}
	return g
}

// sweep forgets guards with nothing left to remember; s.mu must be held.
func (s *State) sweep(now time.Time) {
	for ref, g := range s.guards {
		if g.Idle(now) {
			delete(s.guards, ref)
		}
	}
}

// FightsEndIn is when the earliest ongoing fight ends if quiet, so the condition can
// be cleared then (0: none).
func (s *State) FightsEndIn(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Duration
	for _, g := range s.guards {
		if f := g.Active(now); f != nil {
			end := f.Last.Add(revert.LoopWindow)
			if g.Until().After(end) {
				end = g.Until()
			}
			next = MinPositive(next, end.Sub(now)+time.Millisecond)
		}
	}
	return next
}

// Report copies the revert state into the status: the journal records, the Enforced
// condition and the findings' reverted flags. It changes nothing of the state but
// idle guards, so it can be repeated when a status write fails.
func (s *State) Report(rb *v1alpha1.RoleBaseline, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	rb.Status.Journal = mergeJournal(s.recent, rb.Status.Journal)
	for i := range rb.Status.Findings {
		f := &rb.Status.Findings[i]
		o, ok := s.outcomes[drift.RefFromAPI(f.Object)]
		f.Reverted = ok && o.kind == outcomeReverted
	}
	meta.SetStatusCondition(&rb.Status.Conditions, s.condition(rb.Generation, now))
}

// mergeJournal is the newest MaxJournalRecords of both lists, each entry once.
func mergeJournal(recent, listed []v1alpha1.JournalRecord) []v1alpha1.JournalRecord {
	if len(recent) == 0 {
		return listed
	}
	seen := make(map[string]bool, len(recent)+len(listed))
	out := make([]v1alpha1.JournalRecord, 0, min(len(recent)+len(listed), MaxJournalRecords))
	for _, l := range [][]v1alpha1.JournalRecord{recent, listed} {
		for _, j := range l {
			if !seen[j.Entry] {
				seen[j.Entry] = true
				out = append(out, j)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b v1alpha1.JournalRecord) int { return b.Time.Compare(a.Time.Time) })
	if len(out) > MaxJournalRecords {
		out = out[:MaxJournalRecords]
	}
	return out
}

// condition summarises the outcomes and ongoing fights, the most serious first;
// s.mu must be held.
func (s *State) condition(generation int64, now time.Time) metav1.Condition {
	byKind := map[outcomeKind][]string{}
	for _, o := range s.outcomes {
		byKind[o.kind] = append(byKind[o.kind], o.msg)
	}
	var fights []string
	for ref, g := range s.guards {
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
		c.Message = fmt.Sprintf("Nothing left to revert; %d revert(s) applied since the operator started", s.reverts)
	}
	c.Message = text.Note(c.Message)
	return c
}

// TypesOf lists the finding types of fs, each once, for messages.
func TypesOf(fs []drift.Finding) string {
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

// MinPositive is the sooner of two waits, 0 meaning none.
func MinPositive(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
