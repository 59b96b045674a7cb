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
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// revertWorkers is how many objects are reverted at once. Each revert is two
// sequential API writes (journal, then object), so the workers keep the API server
// busy while one waits; the operator-wide Throttle, not the worker count, is the limit.
const revertWorkers = 8

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
	r        *RoleBaselineReconciler
	log      logr.Logger
	throttle *revert.Throttle
	// queue dedupes items; delays are set per item (the object's bound, a
	// controller's backoff, a failure), never by the queue's own rate limiter.
	queue  workqueue.TypedDelayingInterface[revertItem]
	notify chan event.GenericEvent
}

func newReverter(r *RoleBaselineReconciler, log logr.Logger, throttle *revert.Throttle) *reverter {
	return &reverter{r: r, log: log, throttle: throttle,
		queue:  workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[revertItem]{Name: "revert"}),
		notify: make(chan event.GenericEvent, 1024),
	}
}

// NeedLeaderElection: only the leader writes.
func (rv *reverter) NeedLeaderElection() bool { return true }

// Start runs the workers until ctx ends.
func (rv *reverter) Start(ctx context.Context) error {
	ctx = logr.NewContext(ctx, rv.log)
	for range revertWorkers {
		go func() {
			defer utilruntime.HandleCrash()
			for rv.next(ctx) {
			}
		}()
	}
	rv.log.Info("Starting revert workers", "workers", revertWorkers)
	<-ctx.Done()
	rv.queue.ShutDown()
	return nil
}

// changed is called by the watch handlers when an object changed an Enforce baseline's
// findings. A binding's findings depend on that binding only when violations are only
// reported; a role or namespace can change other objects' findings, so those replan all.
func (rv *reverter) changed(name string, spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef) {
	item := revertItem{baseline: name, ref: ref}
	switch ref.Kind {
	case drift.KindNamespace:
		item.ref = drift.ObjectRef{}
	case drift.KindRole, drift.KindClusterRole:
		if spec.Enforcement.Violations == v1alpha1.ViolationRemoveSubjects {
			item.ref = drift.ObjectRef{}
		}
	}
	rv.queue.Add(item)
	revertQueueDepth.Set(float64(rv.queue.Len()))
}

func (rv *reverter) next(ctx context.Context) bool {
	item, shutdown := rv.queue.Get()
	if shutdown {
		return false
	}
	defer rv.queue.Done(item)
	if after := rv.process(ctx, item); after > 0 {
		rv.queue.AddAfter(item, after)
	}
	revertQueueDepth.Set(float64(rv.queue.Len()))
	return true
}

// process reverts what the item names and returns when to look again (0: not before
// the next watch event).
func (rv *reverter) process(ctx context.Context, item revertItem) time.Duration {
	r := rv.r
	st := r.hub.get(item.baseline)
	if st == nil || st.baseline.Spec.Mode != v1alpha1.ModeEnforce || st.baseline.Spec.Enforcement.DryRun {
		return 0
	}
	rb := st.baseline
	if r.Approvals != nil && !st.enforce.isApproved(st.effectHash) {
		return 0 // the status reconcile reports NotApproved; an approval replans the baseline
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("rolebaseline", klog.KObj(rb))
	// The state may predate a spec change the status reconcile has not loaded yet.
	var cur v1alpha1.RoleBaseline
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
		o, retry := rv.apply(ctx, log, rb, es, &actions[i])
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
		case rv.notify <- event.GenericEvent{Object: &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: rb.Name}}}:
		case <-ctx.Done():
		}
	}
	return wait
}

// writer names who left the object at a's ref as it is: its newest field manager
// and, when the audit log told, the authenticated user.
func (rv *reverter) writer(a *revert.Action) revert.Writer {
	r := rv.r
	manager, rvs := "", ""
	if a.Prior != nil {
		manager, rvs = revert.LastManager(a.Prior.GetManagedFields()), a.Prior.GetResourceVersion()
	}
	user := ""
	if r.Audit != nil {
		if w, ok := r.Audit.Index.Attribute(a.Ref, rvs); ok {
			user = w.Who()
		}
	}
	return revert.ClassifyWriter(manager, user, r.ControllerFieldManagers)
}

// apply performs one action within the object's bound, a fighting controller's
// backoff and the operator-wide budget. It returns the object's outcome (nil when a
// concurrent change will bring a new watch event) and when to retry.
func (rv *reverter) apply(ctx context.Context, log logr.Logger, rb *v1alpha1.RoleBaseline, es *enforceState, a *revert.Action) (*outcome, time.Duration) {
	r := rv.r
	w := rv.writer(a)
	log = log.WithValues("object", a.Ref.String(), "action", a.Kind, "writer", w.String(), "writerKind", w.Kind)
	es.mu.Lock()
	g := es.guardOf(a.Ref)
	wait, backingOff := g.Hold(r.Now(), w)
	es.mu.Unlock()
	if backingOff {
		revertBackoffsTotal.WithLabelValues(rb.Name).Inc()
		return &outcome{kind: outcomeLooping, msg: a.Ref.String()}, wait
	}
	if wait > 0 {
		return &outcome{kind: outcomeRateLimited, msg: a.Ref.String()}, wait
	}
	if err := rv.throttle.Wait(ctx); err != nil {
		return nil, 0 // stopping
	}

	now := r.Now()
	applier := revert.Applier{Client: r.revertClient, Reader: r.APIReader, Namespace: r.JournalNamespace}
	entry, err := applier.Apply(ctx, rb, a, now)
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
			log.V(1).Info("Revert raced a change; waiting for the watch", "error", err.Error())
			return nil, 0
		}
		if apierrors.IsTooManyRequests(err) {
			log.Info("API server is throttling reverts; retrying", "error", err.Error())
			return &outcome{kind: outcomeRateLimited, msg: a.Ref.String()}, time.Second
		}
		revertFailuresTotal.WithLabelValues(rb.Name).Inc()
		msg := fmt.Sprintf("%s %s: %v", a.Kind, a.Ref, err)
		es.mu.Lock()
		retry, quiet := g.Failed(unreachable(err))
		es.mu.Unlock()
		if quiet {
			// The API server or etcd is recovering: retry soon, without an event each time.
			log.Info("Revert failed on a transient error; retrying", "retryIn", retry, "error", err.Error())
		} else {
			log.Error(err, "Revert failed; retrying", "retryIn", retry)
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonRevertFailed, "Revert", "%s", note(msg))
		}
		return &outcome{kind: outcomeFailed, msg: msg}, retry
	}
	revertsTotal.WithLabelValues(rb.Name, string(a.Kind)).Inc()
	log.Info("Reverted drift", "journal", r.JournalNamespace+"/"+entry, "findings", typesOf(a.Findings))

	es.mu.Lock()
	defer es.mu.Unlock()
	es.reverts++
	es.sincePrune++
	es.unreported = append([]v1alpha1.JournalRecord{{Entry: entry, Action: a.Kind, Time: metav1.NewTime(now),
		Object: v1alpha1.ObjectReference{Kind: a.Ref.Kind, Namespace: a.Ref.Namespace, Name: a.Ref.Name}}}, es.unreported...)
	if len(es.unreported) > maxJournalRecords {
		es.unreported = es.unreported[:maxJournalRecords]
	}
	rv.revertedEvent(ctx, rb, es, a, w, entry)
	started, backoff := g.Reverted(now, w)
	if f := g.Fight(); f != nil {
		foughtRevertsTotal.WithLabelValues(rb.Name, string(w.Kind)).Inc()
		if started {
			revertLoopsTotal.WithLabelValues(rb.Name, string(w.Kind)).Inc()
		}
		if started || backoff > 0 {
			msg := f.Describe(a.Ref.String(), now, g.Until())
			log.Info("Revert loop detected", "reverts", f.Reverts, "backoff", backoff, "decision", decision(backoff))
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonRevertLoopDetected, "Revert", "%s", note(msg))
			if obj := r.cachedObject(ctx, a.Ref); obj != nil {
				r.Recorder.Eventf(obj, rb, corev1.EventTypeWarning, v1alpha1.ReasonRevertLoopDetected, "Revert", "%s", note("RoleBaseline "+rb.Name+": "+msg))
			}
		}
	}
	if es.sincePrune >= pruneEvery && es.pruning.CompareAndSwap(false, true) {
		es.sincePrune = 0
		go rv.prune(ctx, log, applier, rb, es)
	}
	return &outcome{kind: outcomeReverted, msg: a.Ref.String()}, 0
}

func decision(backoff time.Duration) string {
	if backoff > 0 {
		return "back off from another controller; drift stays reported"
	}
	return "revert every time"
}

// revertedEvent announces a revert on the baseline and the object, within the
// baseline's event budget; es.mu must be held.
func (rv *reverter) revertedEvent(ctx context.Context, rb *v1alpha1.RoleBaseline, es *enforceState, a *revert.Action, w revert.Writer, entry string) {
	if !es.events.Allow() {
		es.eventsHeld++
		return
	}
	r := rv.r
	msg := fmt.Sprintf("%s %s to revert %s by %s; prior state in ConfigMap %s/%s", a.Kind, a.Ref, typesOf(a.Findings), w, r.JournalNamespace, entry)
	if es.eventsHeld > 0 {
		msg += fmt.Sprintf(" (%d more revert(s) since the last event: see status.journal)", es.eventsHeld)
		es.eventsHeld = 0
	}
	r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1alpha1.ReasonReverted, "Revert", "%s", note(msg))
	if obj := r.cachedObject(ctx, a.Ref); obj != nil {
		r.Recorder.Eventf(obj, rb, corev1.EventTypeNormal, v1alpha1.ReasonReverted, "Revert", "%s", note("RoleBaseline "+rb.Name+": "+msg))
	}
}

// prune deletes journal entries past the baseline's journalLimit, off the revert path,
// and again while reverts were journaled during a pass, so the last burst is pruned too.
func (rv *reverter) prune(ctx context.Context, log logr.Logger, applier revert.Applier, rb *v1alpha1.RoleBaseline, es *enforceState) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for {
		err := applier.Prune(pctx, rb, rb.Spec.Enforcement.EffectiveJournalLimit())
		if err != nil {
			log.Error(err, "Pruning the journal failed; retrying after the next reverts")
		}
		es.mu.Lock()
		again := err == nil && es.sincePrune > 0
		es.sincePrune = 0
		if !again {
			es.pruning.Store(false)
		}
		es.mu.Unlock()
		if !again {
			return
		}
	}
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
