package registry

import (
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Registry keeps one incremental drift.Evaluator per baseline and feeds it every
// object change, so a change costs the engine work for that object only and reaches
// exactly the baselines whose findings it changes.
//
// Locking: the registry lock guards the set of entries. An entry is loaded from the
// cache while the write lock is held, and object changes take the read lock, so no
// change falls between a load and the evaluator's first update.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]*Entry
	// usage is what new evaluators start from (SetUsage).
	usage drift.Usage
	// namespaceObjects lists a namespace's Roles and RoleBindings, for evaluators that
	// start selecting it (they keep only what their scope selects). May be nil.
	namespaceObjects func(ns string) []client.Object

	subMu sync.Mutex
	subs  map[int]func(Change)
	subID int
}

// Change says that a baseline's findings (may have) changed.
type Change struct {
	Baseline string
	// Spec is the baseline's spec as loaded; read-only. Nil when the baseline was removed.
	Spec *v1alpha1.RoleBaselineSpec
	// Object is the object whose change moved the findings; zero when any finding may
	// have changed (a load, new usage data, a removal).
	Object drift.ObjectRef
}

// Entry is the evaluator of one baseline, with what it was loaded from.
type Entry struct {
	// Baseline is the object the entry was loaded from (metadata and spec); read-only.
	Baseline *v1alpha1.RoleBaseline
	// EffectHash is approval.EffectHash of the spec.
	EffectHash string
	// LoadedAt is when the evaluator was loaded from a full snapshot.
	LoadedAt time.Time
	// Err is why the spec cannot be evaluated (drift.NewEvaluator's error), or why the
	// snapshot could not be read (Stale is then true and a retry follows); eval is nil.
	Err   error
	Stale bool

	mu   sync.Mutex
	eval *drift.Evaluator
	// changedAt is when the oldest change not yet taken from the change log was observed.
	changedAt time.Time
}

// New returns an empty registry. namespaceObjects may be nil (an offline registry).
func New(namespaceObjects func(ns string) []client.Object) *Registry {
	return &Registry{entries: map[string]*Entry{}, namespaceObjects: namespaceObjects, subs: map[int]func(Change){}}
}

// Get returns a baseline's entry, or nil before it is loaded.
func (r *Registry) Get(name string) *Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.entries[name]
}

// Current reports whether the entry was loaded from rb as it is now (same object,
// same generation) and can be read.
func (e *Entry) Current(rb *v1alpha1.RoleBaseline) bool {
	return e != nil && e.Baseline.UID == rb.UID && e.Baseline.Generation == rb.Generation
}

// Usable reports whether the entry has an evaluator (its spec loaded without error).
func (e *Entry) Usable() bool { return e.eval != nil }

// Read runs fn with the entry's evaluator, under the entry's lock; fn must not keep
// the evaluator. It does nothing for an entry that failed to load.
func (e *Entry) Read(fn func(ev *drift.Evaluator)) {
	if e.eval == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e.eval)
}

// TakeChanges returns the findings added and removed since the last call (full when
// the evaluator was reloaded or its usage changed), and when the oldest of those
// changes was observed (zero when none).
func (e *Entry) TakeChanges(ev *drift.Evaluator) (added, removed []drift.Finding, full bool, since time.Time) {
	added, removed, full = ev.Changes()
	since, e.changedAt = e.changedAt, time.Time{}
	return added, removed, full, since
}

// Load (re)builds a baseline's evaluator from a snapshot taken under the registry's
// write lock, replacing its entry. An invalid spec yields an entry with Err set.
func (r *Registry) Load(rb *v1alpha1.RoleBaseline, snapshot func() (*drift.Snapshot, error), now time.Time) *Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &Entry{Baseline: &v1alpha1.RoleBaseline{ObjectMeta: *rb.ObjectMeta.DeepCopy(), Spec: *rb.Spec.DeepCopy()},
		EffectHash: approval.EffectHash(&rb.Spec), LoadedAt: now, changedAt: now}
	eval, err := drift.NewEvaluator(&e.Baseline.Spec, r.usage)
	if err == nil {
		var snap *drift.Snapshot
		if snap, err = snapshot(); err == nil {
			eval.Load(snap)
			e.eval = eval
		} else {
			e.Stale = true
		}
	}
	e.Err = err
	if old := r.entries[rb.Name]; old != nil && old.Baseline.UID == rb.UID && !old.changedAt.IsZero() && old.changedAt.Before(now) {
		e.changedAt = old.changedAt // a change not yet reported stays the oldest
	}
	r.entries[rb.Name] = e
	return e
}

// Remove forgets a baseline.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	delete(r.entries, name)
	r.mu.Unlock()
	r.publish(Change{Baseline: name})
}

// Apply feeds one object change to every baseline and tells the subscribers which
// baselines' findings moved.
func (r *Registry) Apply(obj client.Object, deleted bool, now time.Time) {
	ref, ok := drift.RefOf(obj)
	if !ok {
		return
	}
	var changed []Change
	r.mu.RLock()
	for name, e := range r.entries {
		if e.eval == nil {
			continue
		}
		e.mu.Lock()
		moved := r.change(e, obj, ref, deleted)
		if moved && e.changedAt.IsZero() {
			e.changedAt = now
		}
		e.mu.Unlock()
		if moved {
			changed = append(changed, Change{Baseline: name, Spec: &e.Baseline.Spec, Object: ref})
		}
	}
	r.mu.RUnlock()
	for _, c := range changed {
		r.publish(c)
	}
}

// change applies one object change to an entry's evaluator, feeding it the objects of
// namespaces its scope starts selecting, and reports whether its findings moved.
// e.mu must be held.
func (r *Registry) change(e *Entry, obj client.Object, ref drift.ObjectRef, deleted bool) bool {
	var moved bool
	if deleted {
		moved = e.eval.Delete(ref)
	} else {
		moved, _ = e.eval.Upsert(obj) // RefOf admits only the types Upsert knows
	}
	for names := e.eval.NeedNamespaces(); len(names) > 0 && r.namespaceObjects != nil; names = e.eval.NeedNamespaces() {
		for _, ns := range names {
			for _, o := range r.namespaceObjects(ns) {
				if m, _ := e.eval.Upsert(o); m {
					moved = true
				}
			}
		}
	}
	return moved
}

// SetUsage swaps the usage data of every evaluator (and of those loaded later) and
// tells the subscribers which baselines' findings changed.
func (r *Registry) SetUsage(u drift.Usage, now time.Time) {
	var changed []Change
	r.mu.Lock()
	r.usage = u
	for name, e := range r.entries {
		if e.eval == nil {
			continue
		}
		e.mu.Lock()
		if e.eval.SetUsage(u) {
			if e.changedAt.IsZero() {
				e.changedAt = now
			}
			changed = append(changed, Change{Baseline: name, Spec: &e.Baseline.Spec})
		}
		e.mu.Unlock()
	}
	r.mu.Unlock()
	for _, c := range changed {
		r.publish(c)
	}
}

// Subscribe calls fn with every change from now on, on the goroutine that made it:
// fn must not block (a workqueue Add). The returned function ends the subscription.
func (r *Registry) Subscribe(fn func(Change)) (cancel func()) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	r.subID++
	id := r.subID
	r.subs[id] = fn
	return func() {
		r.subMu.Lock()
		defer r.subMu.Unlock()
		delete(r.subs, id)
	}
}

func (r *Registry) publish(c Change) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	for _, fn := range r.subs {
		fn(c)
	}
}

// loaded publishes a load.
func (r *Registry) loaded(e *Entry) {
	r.publish(Change{Baseline: e.Baseline.Name, Spec: &e.Baseline.Spec})
}
