package enforce

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/informers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// Defaults of the operator-wide revert budget (the --revert-qps and --revert-burst
// flags): a 1,000-object mass change is restored in a few seconds, each revert being
// two writes, while the API server's 429 answers halve the rate (revert.Throttle).
const (
	DefaultRevertQPS   = 500
	DefaultRevertBurst = 200
)

// DefaultControllerFieldManagers are field managers of well-known controllers that
// write RBAC (GitOps and RBAC managers, Kubernetes' aggregation controller).
var DefaultControllerFieldManagers = []string{"clusterrole-aggregation-controller", "argocd-controller",
	"argocd-application-controller", "kustomize-controller", "helm-controller", "rbac-manager"}

// Options configure an Enforcer.
type Options struct {
	// Client reads the cache and writes reverts and journal entries as revert.FieldManager.
	Client client.Client
	// APIReader reads uncached: journal entries are listed without caching ConfigMaps.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// JournalNamespace holds the journal ConfigMaps.
	JournalNamespace string
	// Throttle is the operator-wide revert budget.
	Throttle *revert.Throttle
	// ControllerFieldManagers are the field managers taken for other controllers when
	// the audit log does not name the writer: only those are backed off from in a fight.
	ControllerFieldManagers []string
	// Approvals, when set, must approve a baseline's effects before anything is written.
	Approvals *approval.Store
	// Attribute, when set, names the authenticated user whose write left the object at
	// ref in resourceVersion rv (the audit intake).
	Attribute func(ref drift.ObjectRef, rv string) (string, bool)
	Now       func() time.Time
}

// Enforcer reverts drift and remembers, per baseline, what it did (State).
type Enforcer struct {
	Options
	mu     sync.Mutex
	states map[string]*State
	// results tells the status controller that a baseline has revert results to report.
	results chan event.GenericEvent
	// approved tells the Enforce controller that a baseline was just found approved.
	approved chan event.TypedGenericEvent[string]
}

// New returns an Enforcer with o's settings and their defaults filled in.
func New(o Options) *Enforcer {
	out := &Enforcer{Options: o}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Throttle == nil {
		out.Throttle = revert.NewThrottle(DefaultRevertQPS, DefaultRevertBurst)
	}
	if out.ControllerFieldManagers == nil {
		out.ControllerFieldManagers = DefaultControllerFieldManagers
	}
	out.Client = client.WithFieldOwner(out.Client, revert.FieldManager)
	out.states = map[string]*State{}
	out.results = make(chan event.GenericEvent, 1024)
	out.approved = make(chan event.TypedGenericEvent[string], 64)
	observeThrottle(out.Throttle)
	return out
}

// Results is a channel source for the status controller: a baseline has revert
// results to report.
func (e *Enforcer) Results() <-chan event.GenericEvent { return e.results }

// ApprovedBaselines is a channel source for the Enforce controller: the names of baselines
// just found approved, to be replanned whole.
func (e *Enforcer) ApprovedBaselines() <-chan event.TypedGenericEvent[string] { return e.approved }

// State returns the Enforce memory of a baseline, new for a new UID.
func (e *Enforcer) State(rb *v1alpha1.RoleBaseline) *State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.states[rb.Name]
	if s == nil || s.uid != rb.UID {
		s = newState(rb.UID)
		e.states[rb.Name] = s
	}
	return s
}

// Forget drops the memory and metrics of a deleted baseline.
func (e *Enforcer) Forget(name string) {
	e.mu.Lock()
	delete(e.states, name)
	e.mu.Unlock()
	forgetBaseline(name)
}

// Revert puts back what ref of the entry's baseline drifted (a zero ref: every
// finding of the baseline) and returns when to look again (0: at the next change).
// An error is a failed revert, retried with the caller's backoff.
func (e *Enforcer) Revert(ctx context.Context, entry *registry.Entry, ref drift.ObjectRef) (time.Duration, error) {
	rb := entry.Baseline
	if !rb.Spec.Enforces() || !entry.Usable() {
		return 0, nil // an invalid spec is reported by the status controller
	}
	s := e.State(rb)
	if e.Approvals != nil && !s.isApproved(entry.EffectHash) {
		return 0, nil // the status controller reports NotApproved; an approval replans the baseline
	}
	log := logr.FromContextOrDiscard(ctx)
	// The entry may predate a spec change the registry has not loaded yet.
	var cur v1alpha1.RoleBaseline
	if err := e.Client.Get(ctx, types.NamespacedName{Name: rb.Name}, &cur, client.UnsafeDisableDeepCopy); err != nil {
		return 0, client.IgnoreNotFound(err)
	}
	if !entry.Current(&cur) {
		return 0, nil // the registry announces the load of the new spec
	}

	var findings []drift.Finding
	entry.Read(func(ev *drift.Evaluator) {
		if ref == (drift.ObjectRef{}) {
			findings = ev.Findings()
		} else {
			findings = ev.ObjectFindings(ref)
		}
	})
	actions, skips := revert.Plan(&rb.Spec, findings, func(r drift.ObjectRef) client.Object {
		return e.cached(ctx, r, client.UnsafeDisableDeepCopy)
	})

	results := map[drift.ObjectRef]outcome{}
	for _, sk := range skips {
		if !sk.ByPolicy {
			r := sk.Finding.Object
			results[r] = outcome{kind: outcomeSkipped, msg: r.String() + ": " + sk.Reason}
		}
	}
	var wait time.Duration
	var failed error
	for i := range actions {
		o, retry, err := e.apply(ctx, log, rb, s, &actions[i])
		if o != nil {
			results[actions[i].Ref] = *o
		}
		if err != nil && failed == nil {
			failed = err
		}
		wait = MinPositive(wait, retry)
	}

	s.mu.Lock()
	if ref == (drift.ObjectRef{}) {
		s.outcomes = results
	} else {
		delete(s.outcomes, ref)
		for r, o := range results {
			s.outcomes[r] = o
		}
	}
	s.mu.Unlock()
	if len(actions) > 0 || len(results) > 0 {
		select {
		case e.results <- event.GenericEvent{Object: &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: rb.Name}}}:
		case <-ctx.Done():
		}
	}
	return wait, failed
}

// writer names who left the object at a's ref as it is: its newest field manager
// and, when the audit log told, the authenticated user.
func (e *Enforcer) writer(a *revert.Action) revert.Writer {
	manager, rv := "", ""
	if a.Prior != nil {
		manager, rv = revert.LastManager(a.Prior.GetManagedFields()), a.Prior.GetResourceVersion()
	}
	user := ""
	if e.Attribute != nil {
		user, _ = e.Attribute(a.Ref, rv)
	}
	return revert.ClassifyWriter(manager, user, e.ControllerFieldManagers)
}

// apply performs one action within the object's bound, a fighting controller's
// backoff and the operator-wide budget. It returns the object's outcome (nil when a
// concurrent change will bring a new watch event), when to look again, and the error
// of a failed revert.
func (e *Enforcer) apply(ctx context.Context, log logr.Logger, rb *v1alpha1.RoleBaseline, s *State, a *revert.Action) (*outcome, time.Duration, error) {
	w := e.writer(a)
	if a.Kind != v1alpha1.RevertCreate {
		a.DriftedBy = w.String() // a Create's object was deleted: its writer is not on it
	}
	log = log.WithValues("object", a.Ref.String(), "action", a.Kind, "writer", w.String(), "writerKind", w.Kind)
	s.mu.Lock()
	g := s.guardOf(a.Ref)
	wait, backingOff := g.Hold(e.Now(), w)
	s.mu.Unlock()
	if backingOff {
		revertBackoffsTotal.WithLabelValues(rb.Name).Inc()
		return &outcome{kind: outcomeLooping, msg: a.Ref.String()}, wait, nil
	}
	if wait > 0 {
		return &outcome{kind: outcomeRateLimited, msg: a.Ref.String()}, wait, nil
	}
	if err := e.Throttle.Wait(ctx); err != nil {
		return nil, 0, nil // stopping
	}

	now := e.Now()
	applier := revert.Applier{Client: e.Client, Reader: e.APIReader, Namespace: e.JournalNamespace}
	entry, err := applier.Apply(ctx, rb, a, now)
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
			log.V(1).Info("Revert raced a change; waiting for the watch", "error", err.Error())
			return nil, 0, nil
		}
		if apierrors.IsTooManyRequests(err) {
			log.Info("API server is throttling reverts; retrying", "error", err.Error())
			return &outcome{kind: outcomeRateLimited, msg: a.Ref.String()}, time.Second, nil
		}
		revertFailuresTotal.WithLabelValues(rb.Name).Inc()
		msg := fmt.Sprintf("%s %s: %v", a.Kind, a.Ref, err)
		s.mu.Lock()
		_, quiet := g.Failed(informers.Unreachable(err))
		s.mu.Unlock()
		if quiet {
			// The API server or etcd is recovering: retry soon, without an event each time.
			log.Info("Revert failed on a transient error; retrying", "error", err.Error())
		} else {
			e.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonRevertFailed, "Revert", "%s", text.Note(msg))
		}
		return &outcome{kind: outcomeFailed, msg: msg}, 0, fmt.Errorf("%s: %w", msg, err)
	}
	revertsTotal.WithLabelValues(rb.Name, string(a.Kind)).Inc()
	log.Info("Reverted drift", "journal", e.JournalNamespace+"/"+entry, "findings", TypesOf(a.Findings))

	s.mu.Lock()
	defer s.mu.Unlock()
	s.reverts++
	s.sincePrune++
	s.recent = mergeJournal([]v1alpha1.JournalRecord{{Entry: entry, Action: a.Kind, Time: metav1.NewTime(now),
		Object: a.Ref.API()}}, s.recent)
	e.revertedEvent(ctx, rb, s, a, w, entry)
	started, backoff := g.Reverted(now, w)
	if f := g.Fight(); f != nil {
		foughtRevertsTotal.WithLabelValues(rb.Name, string(w.Kind)).Inc()
		if started {
			revertLoopsTotal.WithLabelValues(rb.Name, string(w.Kind)).Inc()
		}
		if started || backoff > 0 {
			msg := f.Describe(a.Ref.String(), now, g.Until())
			log.Info("Revert loop detected", "reverts", f.Reverts, "backoff", backoff, "decision", decision(backoff))
			e.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonRevertLoopDetected, "Revert", "%s", text.Note(msg))
			if obj := e.cached(ctx, a.Ref); obj != nil {
				e.Recorder.Eventf(obj, rb, corev1.EventTypeWarning, v1alpha1.ReasonRevertLoopDetected, "Revert", "%s",
					text.Note("RoleBaseline "+rb.Name+": "+msg))
			}
		}
	}
	if s.sincePrune >= pruneEvery && s.pruning.CompareAndSwap(false, true) {
		s.sincePrune = 0
		go e.prune(ctx, log, applier, rb, s)
	}
	return &outcome{kind: outcomeReverted, msg: a.Ref.String()}, 0, nil
}

func decision(backoff time.Duration) string {
	if backoff > 0 {
		return "back off from another controller; drift stays reported"
	}
	return "revert every time"
}

// revertedEvent announces a revert on the baseline and the object, within the
// baseline's event budget; s.mu must be held.
func (e *Enforcer) revertedEvent(ctx context.Context, rb *v1alpha1.RoleBaseline, s *State, a *revert.Action, w revert.Writer, entry string) {
	if !s.events.Allow() {
		s.eventsHeld++
		return
	}
	msg := fmt.Sprintf("%s %s to revert %s by %s; prior state in ConfigMap %s/%s", a.Kind, a.Ref, TypesOf(a.Findings), w, e.JournalNamespace, entry)
	if s.eventsHeld > 0 {
		msg += fmt.Sprintf(" (%d more revert(s) since the last event: see status.journal)", s.eventsHeld)
		s.eventsHeld = 0
	}
	e.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1alpha1.ReasonReverted, "Revert", "%s", text.Note(msg))
	if obj := e.cached(ctx, a.Ref); obj != nil {
		e.Recorder.Eventf(obj, rb, corev1.EventTypeNormal, v1alpha1.ReasonReverted, "Revert", "%s", text.Note("RoleBaseline "+rb.Name+": "+msg))
	}
}

// prune deletes journal entries past the baseline's journalLimit, off the revert path,
// and again while reverts were journaled during a pass, so the last burst is pruned too.
func (e *Enforcer) prune(ctx context.Context, log logr.Logger, applier revert.Applier, rb *v1alpha1.RoleBaseline, s *State) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for {
		err := applier.Prune(pctx, rb, rb.Spec.Enforcement.EffectiveJournalLimit())
		if err != nil {
			log.Error(err, "Pruning the journal failed; retrying after the next reverts")
		}
		s.mu.Lock()
		again := err == nil && s.sincePrune > 0
		s.sincePrune = 0
		if !again {
			s.pruning.Store(false)
		}
		s.mu.Unlock()
		if !again {
			return
		}
	}
}

// cached reads an RBAC object from the cache with opts; nil when it does not exist.
func (e *Enforcer) cached(ctx context.Context, ref drift.ObjectRef, opts ...client.GetOption) client.Object {
	return informers.RBACObject(ctx, e.Client, ref, opts...)
}
