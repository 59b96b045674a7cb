package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// Revert-loop detection: loopThreshold reverts of one object within loopWindow mean
// another writer keeps undoing them; the object's reverts then back off from
// loopBackoffMin, doubling up to loopBackoffMax.
const (
	loopThreshold  = 3
	loopWindow     = time.Minute
	loopBackoffMin = 5 * time.Second
	loopBackoffMax = 10 * time.Minute
	// maxJournalRecords caps status.journal.
	maxJournalRecords = 20
	// pruneEvery is how many journal writes pass between prunes of old entries.
	pruneEvery = 10
)

// enforceState is the Enforce-mode memory of one baseline; only its reconcile touches it.
type enforceState struct {
	limiter       *rate.Limiter
	perMinute     int32
	history       map[drift.ObjectRef]*revertHistory
	sincePrune    int
	pruning       atomic.Bool
	dryRunPlanned map[string]bool
}

type revertHistory struct {
	recent  []time.Time
	backoff time.Duration
	until   time.Time
}

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

// enforce plans reverts for the findings and applies them within the baseline's rate
// limit and loop backoff, recording the Enforced condition and journal in status.
// It returns when to look again for held-back reverts (0 for never).
func (r *RoleBaselineReconciler) enforce(ctx context.Context, rb *v1.RoleBaseline, es *enforceState, findings []drift.Finding, now time.Time) time.Duration {
	log := ctrl.LoggerFrom(ctx)
	actions, skips := revert.Plan(&rb.Spec, findings, func(ref drift.ObjectRef) client.Object {
		return r.cachedObject(ctx, ref, client.UnsafeDisableDeepCopy)
	})

	if rb.Spec.Enforcement.DryRun {
		r.reportDryRun(rb, es, actions)
		return 0
	}
	if es.history == nil {
		es.history = map[drift.ObjectRef]*revertHistory{}
	}
	limiter := es.limiterFor(rb.Spec.Enforcement.MaxRevertsPerMinute)
	applier := revert.Applier{Client: r.Client, Reader: r.APIReader, Namespace: r.JournalNamespace}

	var (
		reverted        = map[drift.ObjectRef]bool{}
		failed, looping []string
		rateLimited     bool
		wait            time.Duration
	)
	for i := range actions {
		a := &actions[i]
		h := es.history[a.Ref]
		if h == nil {
			h = &revertHistory{}
			es.history[a.Ref] = h
		}
		if now.Before(h.until) {
			looping = append(looping, a.Ref.String())
			wait = minPositive(wait, h.until.Sub(now))
			continue
		}
		if res := limiter.ReserveN(now, 1); res.DelayFrom(now) > 0 {
			res.CancelAt(now)
			rateLimited = true
			wait = minPositive(wait, res.DelayFrom(now))
			continue
		}
		entry, err := applier.Apply(ctx, rb, a, now)
		if err != nil {
			if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
				// The object changed since the cache saw it: the watch event re-plans.
				log.V(1).Info("Revert raced a change; waiting for the watch", "object", a.Ref.String(), "error", err.Error())
				continue
			}
			failed = append(failed, fmt.Sprintf("%s %s: %v", a.Kind, a.Ref, err))
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1.ReasonRevertFailed, "Revert", "%s", note(failed[len(failed)-1]))
			continue
		}
		reverted[a.Ref] = true
		es.sincePrune++
		rb.Status.Journal = append([]v1.JournalRecord{{Entry: entry, Action: a.Kind, Time: metav1.NewTime(now),
			Object: v1.ObjectReference{Kind: a.Ref.Kind, Namespace: a.Ref.Namespace, Name: a.Ref.Name}}}, rb.Status.Journal...)
		msg := fmt.Sprintf("%s %s to revert %s; prior state in ConfigMap %s/%s", a.Kind, a.Ref, typesOf(a.Findings), r.JournalNamespace, entry)
		r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1.ReasonReverted, "Revert", "%s", note(msg))
		if obj := r.cachedObject(ctx, a.Ref); obj != nil {
			r.Recorder.Eventf(obj, rb, corev1.EventTypeNormal, v1.ReasonReverted, "Revert", "%s", note("RoleBaseline "+rb.Name+": "+msg))
		}
		log.Info("Reverted drift", "action", a.Kind, "object", a.Ref.String(), "journal", entry)
		if h.recordRevert(now) {
			log.Info("Revert loop detected; backing off", "object", a.Ref.String(), "backoff", h.backoff)
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1.ReasonRevertLoopDetected, "Revert",
				"%s was reverted %d times within %s: another writer keeps changing it; next revert in %s",
				a.Ref, loopThreshold, loopWindow, h.backoff)
		}
	}
	if len(rb.Status.Journal) > maxJournalRecords {
		rb.Status.Journal = rb.Status.Journal[:maxJournalRecords]
	}
	if es.sincePrune >= pruneEvery && es.pruning.CompareAndSwap(false, true) {
		// Off the reconcile path: listing and deleting old entries would delay the next revert.
		es.sincePrune = 0
		owner, limit := rb.DeepCopy(), int(rb.Spec.Enforcement.JournalLimit)
		go func() {
			defer es.pruning.Store(false)
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := applier.Prune(pctx, owner, limit); err != nil {
				log.Error(err, "Pruning the journal failed; retrying after the next reverts")
			}
		}()
	}
	for i := range rb.Status.Findings {
		f := &rb.Status.Findings[i]
		f.Reverted = reverted[objectRef(f.Object)]
	}

	cond := metav1.Condition{Type: v1.ConditionEnforced, ObservedGeneration: rb.Generation, Status: metav1.ConditionFalse}
	held := heldSkips(skips)
	switch {
	case len(failed) > 0:
		cond.Reason, cond.Message = v1.ReasonRevertFailed, strings.Join(failed, "; ")
	case len(looping) > 0:
		cond.Reason, cond.Message = v1.ReasonRevertLoopDetected, "Another writer keeps undoing reverts of "+strings.Join(looping, ", ")+"; backing off"
	case rateLimited:
		cond.Reason, cond.Message = v1.ReasonRateLimited, fmt.Sprintf("Reverts wait for spec.enforcement.maxRevertsPerMinute (%d)", es.perMinute)
	case len(held) > 0:
		cond.Reason, cond.Message = v1.ReasonRevertSkipped, strings.Join(held, "; ")
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, v1.ReasonReverted
		cond.Message = fmt.Sprintf("%d object(s) reverted in the last pass; nothing else to revert", len(reverted))
	}
	cond.Message = note(cond.Message)
	meta.SetStatusCondition(&rb.Status.Conditions, cond)
	if len(failed) > 0 {
		wait = minPositive(wait, 5*time.Second)
	}
	return wait
}

// recordRevert notes a revert and reports whether it makes a loop, arming the backoff.
func (h *revertHistory) recordRevert(now time.Time) bool {
	kept := h.recent[:0]
	for _, t := range h.recent {
		if now.Sub(t) < loopWindow {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	h.recent = kept
	if len(h.recent) < loopThreshold {
		if len(h.recent) == 1 {
			h.backoff = 0 // a quiet window ends the previous loop
		}
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

func heldSkips(skips []revert.Skip) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range skips {
		line := s.Finding.Object.String() + ": " + s.Reason
		if !s.ByPolicy && !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	return out
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

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
