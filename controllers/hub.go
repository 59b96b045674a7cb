package controllers

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// hub keeps one incremental drift.Evaluator per baseline and feeds it every watch
// event, so a change costs the engine work for that object only (not a fresh
// snapshot of the scope) and reaches exactly the baselines whose findings it changes.
//
// Locking: the hub lock guards the set of baselines. A baseline's evaluator is
// loaded from the cache while the write lock is held, and event handlers take the
// read lock, so no event falls between a load and the evaluator's first update.
type hub struct {
	mu        sync.RWMutex
	baselines map[string]*baselineState
	// revert hears of each object that changed an Enforce baseline's findings.
	revert func(name string, spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef)
	// namespaceObjects lists a namespace's Roles and RoleBindings from the cache, for
	// evaluators that start selecting it (they keep only what their scope selects).
	namespaceObjects func(ns string) []client.Object
}

// baselineState is the in-memory state of one baseline.
type baselineState struct {
	// baseline is the object this state was loaded from (metadata and spec); read-only.
	baseline *v1alpha1.RoleBaseline
	mu       sync.Mutex
	eval     *drift.Evaluator
	loadedAt time.Time
	// changedAt is when the oldest change not yet written to status was observed.
	changedAt time.Time
	// reported are the findings announced in status and events.
	reported reportedSet
	// seeded is true once reported reflects this process's own status write.
	seeded bool
	// budget limits the events of this baseline; suppressed counts what it held back.
	budget     *rate.Limiter
	suppressed int
	// statusAt is when status was last written.
	statusAt time.Time
	// enforce has its own lock: the revert workers share it with the reconcile.
	enforce *enforceState
	// effectHash is approval.EffectHash of baseline's spec.
	effectHash string
}

func newHub(revert func(string, *v1alpha1.RoleBaselineSpec, drift.ObjectRef), namespaceObjects func(string) []client.Object) *hub {
	return &hub{baselines: map[string]*baselineState{}, revert: revert, namespaceObjects: namespaceObjects}
}

// change applies one object change to a baseline's evaluator, feeding it the objects
// of namespaces its scope starts selecting, and reports whether its findings moved.
// st.mu must be held.
func (h *hub) change(st *baselineState, obj client.Object, ref drift.ObjectRef, deleted bool) bool {
	var moved bool
	if deleted {
		moved = st.eval.Delete(ref)
	} else {
		moved, _ = st.eval.Upsert(obj) // refOf admits only the types Upsert knows
	}
	for names := st.eval.NeedNamespaces(); len(names) > 0 && h.namespaceObjects != nil; names = st.eval.NeedNamespaces() {
		for _, ns := range names {
			for _, o := range h.namespaceObjects(ns) {
				if m, _ := st.eval.Upsert(o); m {
					moved = true
				}
			}
		}
	}
	return moved
}

func (h *hub) get(name string) *baselineState {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.baselines[name]
}

// load (re)builds a baseline's evaluator from a snapshot taken under the hub's write
// lock. The previous state's reported findings carry over.
func (h *hub) load(rb *v1alpha1.RoleBaseline, eval *drift.Evaluator, snapshot func() (*drift.Snapshot, error), now time.Time) (*baselineState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	snap, err := snapshot()
	if err != nil {
		return nil, err
	}
	eval.Load(snap)
	name := rb.Name
	st := &baselineState{baseline: &v1alpha1.RoleBaseline{ObjectMeta: *rb.ObjectMeta.DeepCopy(), Spec: *rb.Spec.DeepCopy()},
		eval: eval, loadedAt: now, changedAt: now,
		reported: reportedSet{}, budget: newEventBudget(), enforce: newEnforceState(),
		effectHash: approval.EffectHash(&rb.Spec)}
	if old := h.baselines[name]; old != nil && old.baseline.UID == rb.UID {
		old.mu.Lock()
		st.reported, st.seeded = old.reported, old.seeded
		st.budget, st.suppressed, st.enforce = old.budget, old.suppressed, old.enforce
		if !old.changedAt.IsZero() && old.changedAt.Before(now) {
			st.changedAt = old.changedAt
		}
		old.mu.Unlock()
	}
	h.baselines[name] = st
	return st, nil
}

// unobserved puts back a change time whose status write failed, so the retry counts it.
func (h *hub) unobserved(name string, changedAt time.Time) {
	st := h.get(name)
	if st == nil || changedAt.IsZero() {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.changedAt.IsZero() || changedAt.Before(st.changedAt) {
		st.changedAt = changedAt
	}
}

// enforceStatusInterval spaces an Enforce baseline's status writes: a tampering, its
// revert and the revert's watch event would otherwise write status three times within
// a few milliseconds, competing with the next revert for the API server.
const enforceStatusInterval = 200 * time.Millisecond

// holdStatus returns how long an Enforce baseline's status write should wait to be
// merged with what follows, or 0. Spec changes and Audit baselines never wait.
func (h *hub) holdStatus(rb *v1alpha1.RoleBaseline, now time.Time) time.Duration {
	st := h.get(rb.Name)
	if st == nil || st.baseline.UID != rb.UID || st.baseline.Generation != rb.Generation ||
		rb.Spec.Mode != v1alpha1.ModeEnforce || rb.Spec.Enforcement.DryRun {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return max(0, st.statusAt.Add(enforceStatusInterval).Sub(now))
}

// statusWritten records a status write.
func (h *hub) statusWritten(name string, at time.Time) {
	if st := h.get(name); st != nil {
		st.mu.Lock()
		st.statusAt = at
		st.mu.Unlock()
	}
}

func (h *hub) remove(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.baselines, name)
}

// apply feeds one object change to every baseline and returns those whose findings changed.
func (h *hub) apply(obj client.Object, deleted bool, now time.Time) []string {
	ref, ok := refOf(obj)
	if !ok {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	var changed []string
	for name, st := range h.baselines {
		st.mu.Lock()
		moved := h.change(st, obj, ref, deleted)
		if moved {
			if st.changedAt.IsZero() {
				st.changedAt = now
			}
			changed = append(changed, name)
		}
		st.mu.Unlock()
		if moved && st.baseline.Spec.Mode == v1alpha1.ModeEnforce && h.revert != nil {
			h.revert(name, &st.baseline.Spec, ref)
		}
	}
	return changed
}

func refOf(obj client.Object) (drift.ObjectRef, bool) {
	var kind string
	switch obj.(type) {
	case *rbacv1.Role:
		kind = drift.KindRole
	case *rbacv1.ClusterRole:
		kind = drift.KindClusterRole
	case *rbacv1.RoleBinding:
		kind = drift.KindRoleBinding
	case *rbacv1.ClusterRoleBinding:
		kind = drift.KindClusterRoleBinding
	case *corev1.Namespace:
		kind = drift.KindNamespace
	default:
		return drift.ObjectRef{}, false
	}
	return drift.ObjectRef{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}, true
}

// eventHandler maps a watch event on an RBAC object or a Namespace to the baselines
// whose findings it changes, and enqueues only those.
func (h *hub) eventHandler(now func() time.Time) handler.EventHandler {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], names []string) {
		for _, n := range names {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: n}})
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, h.apply(e.Object, false, now()))
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, h.apply(e.ObjectNew, false, now()))
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, h.apply(e.Object, true, now()))
		},
	}
}
