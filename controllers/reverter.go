package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// revertWorkers is how many objects are reverted at once.
const revertWorkers = 4

// revertItem asks for one object of one baseline to be put back; a zero ref asks for
// every finding of the baseline.
type revertItem struct {
	baseline string
	ref      drift.ObjectRef
}

// reverter applies Enforce-mode reverts off the status path. The watch handlers hand
// it the objects whose findings changed, and a few workers journal and revert them
// straight away, so a revert never waits for a status write (nor a status write for
// a revert). It then asks the status reconcile to report, through notify.
type reverter struct {
	r      *RoleBaselineReconciler
	queue  workqueue.TypedRateLimitingInterface[revertItem]
	notify chan event.GenericEvent
}

func newReverter(r *RoleBaselineReconciler) *reverter {
	return &reverter{r: r,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[revertItem](),
			workqueue.TypedRateLimitingQueueConfig[revertItem]{Name: "revert"}),
		notify: make(chan event.GenericEvent, 1024),
	}
}

// NeedLeaderElection: only the leader writes.
func (rv *reverter) NeedLeaderElection() bool { return true }

// Start runs the workers until ctx ends.
func (rv *reverter) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("revert")
	for range revertWorkers {
		go func() {
			defer utilruntime.HandleCrash()
			for rv.next(logr.NewContext(ctx, log)) {
			}
		}()
	}
	<-ctx.Done()
	rv.queue.ShutDown()
	return nil
}

// changed is called by the watch handlers when an object changed an Enforce baseline's
// findings. A binding's findings depend on that binding only when violations are only
// reported; a role or namespace can change other objects' findings, so those replan all.
func (rv *reverter) changed(name string, spec *v1.RoleBaselineSpec, ref drift.ObjectRef) {
	item := revertItem{baseline: name, ref: ref}
	switch ref.Kind {
	case drift.KindNamespace:
		item.ref = drift.ObjectRef{}
	case drift.KindRole, drift.KindClusterRole:
		if spec.Enforcement.Violations == v1.ViolationRemoveSubjects {
			item.ref = drift.ObjectRef{}
		}
	}
	rv.queue.Add(item)
}

func (rv *reverter) next(ctx context.Context) bool {
	item, shutdown := rv.queue.Get()
	if shutdown {
		return false
	}
	defer rv.queue.Done(item)
	after := rv.process(ctx, item)
	rv.queue.Forget(item)
	if after > 0 {
		rv.queue.AddAfter(item, after)
	}
	return true
}

// process reverts what the item names and returns when to look again (0: not before
// the next watch event).
func (rv *reverter) process(ctx context.Context, item revertItem) time.Duration {
	r := rv.r
	st := r.hub.get(item.baseline)
	if st == nil || st.baseline.Spec.Mode != v1.ModeEnforce || st.baseline.Spec.Enforcement.DryRun {
		return 0
	}
	rb := st.baseline
	log := logr.FromContextOrDiscard(ctx).WithValues("rolebaseline", rb.Name)
	// The state may predate a spec change the status reconcile has not loaded yet.
	var cur v1.RoleBaseline
	if err := r.Get(ctx, types.NamespacedName{Name: rb.Name}, &cur, client.UnsafeDisableDeepCopy); err != nil ||
		cur.UID != rb.UID || cur.Generation != rb.Generation {
		return 0
	}

	st.mu.Lock()
	var findings []drift.Finding
	if item.ref == (drift.ObjectRef{}) {
		findings = st.eval.Findings()
	} else {
		findings = st.eval.ObjectFindings(item.ref)
	}
	st.mu.Unlock()
	actions, skips := revert.Plan(&rb.Spec, findings, func(ref drift.ObjectRef) client.Object {
		return r.cachedObject(ctx, ref, client.UnsafeDisableDeepCopy)
	})

	es := st.enforce
	results := map[drift.ObjectRef]outcome{}
	for _, s := range skips {
		if !s.ByPolicy {
			ref := s.Finding.Object
			results[ref] = outcome{kind: outcomeSkipped, msg: ref.String() + ": " + s.Reason}
		}
	}
	var wait time.Duration
	for i := range actions {
		o, retry := rv.apply(ctx, log, rb, st.enforce, &actions[i])
		if o != nil {
			results[actions[i].Ref] = *o
		}
		wait = minPositive(wait, retry)
	}

	es.mu.Lock()
	if item.ref == (drift.ObjectRef{}) {
		es.outcomes = results
	} else {
		delete(es.outcomes, item.ref)
		for ref, o := range results {
			es.outcomes[ref] = o
		}
	}
	es.mu.Unlock()
	if len(actions) > 0 || len(results) > 0 {
		select {
		case rv.notify <- event.GenericEvent{Object: &v1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: rb.Name}}}:
		case <-ctx.Done():
		}
	}
	return wait
}

// apply performs one action within the baseline's rate limit and the object's loop
// backoff. It returns the object's outcome (nil when a concurrent change will bring a
// new watch event) and when to retry.
func (rv *reverter) apply(ctx context.Context, log logr.Logger, rb *v1.RoleBaseline, es *enforceState, a *revert.Action) (*outcome, time.Duration) {
	r := rv.r
	now := r.Now()
	es.mu.Lock()
	h := es.historyOf(a.Ref)
	if now.Before(h.until) {
		es.mu.Unlock()
		return &outcome{kind: outcomeLooping, msg: a.Ref.String()}, h.until.Sub(now)
	}
	if res := es.limiterFor(rb.Spec.Enforcement.MaxRevertsPerMinute).ReserveN(now, 1); res.DelayFrom(now) > 0 {
		res.CancelAt(now)
		es.mu.Unlock()
		return &outcome{kind: outcomeRateLimited, msg: a.Ref.String()}, res.DelayFrom(now)
	}
	es.mu.Unlock()

	applier := revert.Applier{Client: r.Client, Reader: r.APIReader, Namespace: r.JournalNamespace}
	entry, err := applier.Apply(ctx, rb, a, now)
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			log.V(1).Info("Revert raced a change; waiting for the watch", "object", a.Ref.String(), "error", err.Error())
			return nil, 0
		}
		msg := fmt.Sprintf("%s %s: %v", a.Kind, a.Ref, err)
		r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1.ReasonRevertFailed, "Revert", "%s", note(msg))
		return &outcome{kind: outcomeFailed, msg: msg}, failedRetry
	}

	msg := fmt.Sprintf("%s %s to revert %s; prior state in ConfigMap %s/%s", a.Kind, a.Ref, typesOf(a.Findings), r.JournalNamespace, entry)
	log.Info("Reverted drift", "action", a.Kind, "object", a.Ref.String(), "journal", entry)
	r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1.ReasonReverted, "Revert", "%s", note(msg))
	if obj := r.cachedObject(ctx, a.Ref); obj != nil {
		r.Recorder.Eventf(obj, rb, corev1.EventTypeNormal, v1.ReasonReverted, "Revert", "%s", note("RoleBaseline "+rb.Name+": "+msg))
	}

	es.mu.Lock()
	defer es.mu.Unlock()
	es.reverts++
	es.sincePrune++
	es.unreported = append([]v1.JournalRecord{{Entry: entry, Action: a.Kind, Time: metav1.NewTime(now),
		Object: v1.ObjectReference{Kind: a.Ref.Kind, Namespace: a.Ref.Namespace, Name: a.Ref.Name}}}, es.unreported...)
	if len(es.unreported) > maxJournalRecords {
		es.unreported = es.unreported[:maxJournalRecords]
	}
	if h.recordRevert(now) {
		log.Info("Revert loop detected; backing off", "object", a.Ref.String(), "backoff", h.backoff)
		r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1.ReasonRevertLoopDetected, "Revert",
			"%s was reverted %d times within %s: another writer keeps changing it; next revert in %s",
			a.Ref, loopThreshold, loopWindow, h.backoff)
	}
	if es.sincePrune >= pruneEvery && es.pruning.CompareAndSwap(false, true) {
		es.sincePrune = 0
		go rv.prune(ctx, log, applier, rb, es)
	}
	return &outcome{kind: outcomeReverted, msg: a.Ref.String()}, 0
}

// prune deletes journal entries past the baseline's journalLimit, off the revert path.
func (rv *reverter) prune(ctx context.Context, log logr.Logger, applier revert.Applier, rb *v1.RoleBaseline, es *enforceState) {
	defer es.pruning.Store(false)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := applier.Prune(pctx, rb, int(rb.Spec.Enforcement.JournalLimit)); err != nil {
		log.Error(err, "Pruning the journal failed; retrying after the next reverts")
	}
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
