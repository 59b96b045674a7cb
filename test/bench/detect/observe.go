package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// observer is the single process whose clock times every write: it watches the
// written Roles and the RoleBaseline through one client and stamps each event with
// time.Now() (monotonic) the moment it arrives.
type observer struct {
	mu      sync.Mutex
	notify  chan struct{}        // closed and replaced on every event
	roles   map[string]time.Time // Role resourceVersion -> arrival
	history map[string][]roleEvent
	states  []baselineState
	watchEr error
}

// baselineState is what one RoleBaseline watch event says, with its arrival time.
type baselineState struct {
	at                 time.Time
	resourceVersion    string
	generation         int64
	observedGeneration int64
	drifts, violations int32
	byType             map[v1alpha1.FindingType]int32
	// rulesAdded lists the objects with a RulesAdded finding in status.findings.
	rulesAdded map[string]bool
}

// roleEvent is one watch event on a Role, with its arrival time.
type roleEvent struct {
	at   time.Time
	typ  watch.EventType
	role *rbacv1.Role
}

func newObserver() *observer {
	return &observer{notify: make(chan struct{}), roles: map[string]time.Time{}, history: map[string][]roleEvent{}}
}

// start opens the watches: Roles in each scoped namespace and the RoleBaseline.
func (o *observer) start(ctx context.Context, c client.WithWatch, namespaces []string) error {
	for _, ns := range namespaces {
		if err := o.watch(ctx, c, &rbacv1.RoleList{}, []client.ListOption{client.InNamespace(ns)}, o.onRole); err != nil {
			return err
		}
	}
	return o.watch(ctx, c, &v1alpha1.RoleBaselineList{}, []client.ListOption{client.MatchingFields{"metadata.name": baselineName}}, o.onBaseline)
}

// watch lists to get a resourceVersion, then watches from it, and resumes from the
// last resourceVersion seen when the server ends the watch.
func (o *observer) watch(ctx context.Context, c client.WithWatch, list client.ObjectList, opts []client.ListOption,
	on func(time.Time, watch.EventType, client.Object)) error {
	if err := c.List(ctx, list, opts...); err != nil {
		return err
	}
	rv := list.GetResourceVersion()
	open := func() (watch.Interface, error) {
		return c.Watch(ctx, list, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})...)
	}
	w, err := open()
	if err != nil {
		return err
	}
	go func() {
		defer func() { w.Stop() }()
		for {
			for ev := range w.ResultChan() {
				at := time.Now()
				switch ev.Type {
				case watch.Error:
					o.fail(fmt.Errorf("watch %T: %v", list, ev.Object))
					return
				case watch.Bookmark:
					if obj, ok := ev.Object.(client.Object); ok {
						rv = obj.GetResourceVersion()
					}
					continue
				}
				obj, ok := ev.Object.(client.Object)
				if !ok {
					continue
				}
				rv = obj.GetResourceVersion()
				on(at, ev.Type, obj)
			}
			if ctx.Err() != nil {
				return
			}
			w.Stop()
			if w, err = open(); err != nil {
				o.fail(fmt.Errorf("reopening the watch %T: %w", list, err))
				return
			}
		}
	}()
	return nil
}

func (o *observer) onRole(at time.Time, typ watch.EventType, obj client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.roles[obj.GetResourceVersion()] = at
	if role, ok := obj.(*rbacv1.Role); ok {
		key := role.Namespace + "/" + role.Name
		o.history[key] = append(o.history[key], roleEvent{at: at, typ: typ, role: role})
	}
	o.wake()
}

func (o *observer) onBaseline(at time.Time, _ watch.EventType, obj client.Object) {
	rb, ok := obj.(*v1alpha1.RoleBaseline)
	if !ok {
		return
	}
	s := baselineState{at: at, resourceVersion: rb.ResourceVersion, generation: rb.Generation,
		observedGeneration: rb.Status.ObservedGeneration, drifts: rb.Status.Counts.Drifts,
		violations: rb.Status.Counts.Violations, byType: rb.Status.Counts.ByType, rulesAdded: map[string]bool{}}
	for _, f := range rb.Status.Findings {
		if f.Type == v1alpha1.FindingRulesAdded {
			s.rulesAdded[f.Object.Namespace+"/"+f.Object.Name] = true
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.states = append(o.states, s)
	o.wake()
}

func (o *observer) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.watchEr == nil {
		o.watchEr = err
	}
	o.wake()
}

// wake tells waiters something arrived; o.mu is held.
func (o *observer) wake() {
	close(o.notify)
	o.notify = make(chan struct{})
}

// waitFor blocks until cond, called with o.mu held, is true.
func (o *observer) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		o.mu.Lock()
		if o.watchEr != nil {
			o.mu.Unlock()
			return o.watchEr
		}
		if cond() {
			o.mu.Unlock()
			return nil
		}
		ch := o.notify
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// roleArrival waits for the Role event carrying resourceVersion rv.
func (o *observer) roleArrival(ctx context.Context, timeout time.Duration, rv string) (time.Time, error) {
	var at time.Time
	err := o.waitFor(ctx, timeout, "the Role event of resourceVersion "+rv, func() bool {
		t, ok := o.roles[rv]
		at = t
		return ok
	})
	return at, err
}

// baselineArrival waits for the first RoleBaseline event at index from or later
// that satisfies match, and returns it.
func (o *observer) baselineArrival(ctx context.Context, timeout time.Duration, from int, what string,
	match func(*baselineState) bool) (baselineState, error) {
	var found baselineState
	err := o.waitFor(ctx, timeout, what, func() bool {
		for i := from; i < len(o.states); i++ {
			if match(&o.states[i]) {
				found = o.states[i]
				return true
			}
		}
		return false
	})
	return found, err
}

// roleMark returns the index the next event on the Role key will have.
func (o *observer) roleMark(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.history[key])
}

// roleEventAt waits for the first event on the Role key at index from or later that
// satisfies match, and returns it and its index.
func (o *observer) roleEventAt(ctx context.Context, timeout time.Duration, key string, from int, what string,
	match func(*roleEvent) bool) (roleEvent, int, error) {
	var (
		found roleEvent
		index int
	)
	err := o.waitFor(ctx, timeout, what, func() bool {
		h := o.history[key]
		for i := from; i < len(h); i++ {
			if match(&h[i]) {
				found, index = h[i], i
				return true
			}
		}
		return false
	})
	return found, index, err
}

// roleEvents returns a copy of the events on the Role key from index from to to (exclusive).
func (o *observer) roleEvents(key string, from, to int) []roleEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.history[key]
	to = min(to, len(h))
	if from >= to {
		return nil
	}
	return append([]roleEvent(nil), h[from:to]...)
}

// mark returns the index the next RoleBaseline event will have.
func (o *observer) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.states)
}

// last returns the latest RoleBaseline state seen, if any.
func (o *observer) last() (baselineState, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.states) == 0 {
		return baselineState{}, false
	}
	return o.states[len(o.states)-1], true
}
