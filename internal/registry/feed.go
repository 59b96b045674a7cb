package registry

import (
	"context"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// DefaultResyncPeriod is how often a baseline is reloaded from a fresh snapshot when
// Feed.ResyncPeriod is zero.
const DefaultResyncPeriod = 10 * time.Minute

// retryLoad is how soon a load whose snapshot failed is tried again.
const retryLoad = time.Second

// Feed keeps a Registry current from the informer cache: it loads each RoleBaseline
// when it appears or its spec changes, forgets it when it goes, feeds every RBAC and
// Namespace change to the loaded evaluators, and reloads each baseline from a fresh
// snapshot every ResyncPeriod (jittered by 10%) as a safety net. It runs on every
// replica, leader or not, so every replica behind the webhook Service can answer
// Preview and a new leader starts with current evaluators.
type Feed struct {
	Registry *Registry
	Cache    cache.Cache
	// ResyncPeriod: DefaultResyncPeriod when zero.
	ResyncPeriod time.Duration
	Log          logr.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// loadMu orders loads from the baseline handler and the resync loop.
	loadMu sync.Mutex
	due    map[string]time.Time
}

// NeedLeaderElection: every replica keeps its evaluators.
func (f *Feed) NeedLeaderElection() bool { return false }

// Start registers the handlers and runs the resync loop until ctx ends.
func (f *Feed) Start(ctx context.Context) error {
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.ResyncPeriod <= 0 {
		f.ResyncPeriod = DefaultResyncPeriod
	}
	f.due = map[string]time.Time{}
	for _, obj := range []client.Object{&rbacv1.Role{}, &rbacv1.ClusterRole{}, &rbacv1.RoleBinding{},
		&rbacv1.ClusterRoleBinding{}, &corev1.Namespace{}} {
		inf, err := f.Cache.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(f.objectHandler()); err != nil {
			return err
		}
	}
	inf, err := f.Cache.GetInformer(ctx, &v1alpha1.RoleBaseline{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(f.baselineHandler(ctx)); err != nil {
		return err
	}
	f.Log.Info("Keeping the baselines' evaluators current", "resyncPeriod", f.ResyncPeriod)
	tick := time.NewTicker(min(f.ResyncPeriod/10, 10*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			f.resync(ctx)
		}
	}
}

// objectHandler feeds RBAC and Namespace changes to the evaluators. Namespace updates
// matter only when they change labels (a scope's answer depends on nothing else).
func (f *Feed) objectHandler() toolscache.ResourceEventHandler {
	apply := func(o any, deleted bool) {
		if obj, ok := unwrapTombstone(o).(client.Object); ok {
			f.Registry.Apply(obj, deleted, f.Now())
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { apply(o, false) },
		UpdateFunc: func(old, o any) {
			if on, ok := old.(*corev1.Namespace); ok {
				if nn, ok := o.(*corev1.Namespace); ok && maps.Equal(on.Labels, nn.Labels) {
					return
				}
			}
			apply(o, false)
		},
		DeleteFunc: func(o any) { apply(o, true) },
	}
}

// baselineHandler loads a baseline when it appears or its spec changes, and forgets
// it when it goes.
func (f *Feed) baselineHandler(ctx context.Context) toolscache.ResourceEventHandler {
	load := func(o any) {
		if rb, ok := o.(*v1alpha1.RoleBaseline); ok {
			f.load(ctx, rb, false)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    load,
		UpdateFunc: func(_, o any) { load(o) },
		DeleteFunc: func(o any) {
			if rb, ok := unwrapTombstone(o).(*v1alpha1.RoleBaseline); ok {
				f.loadMu.Lock()
				defer f.loadMu.Unlock()
				if e := f.Registry.Get(rb.Name); e != nil && e.Baseline.UID == rb.UID {
					delete(f.due, rb.Name)
					f.Registry.Remove(rb.Name)
				}
			}
		},
	}
}

// load (re)loads rb unless its entry is current; force reloads anyway (a resync).
func (f *Feed) load(ctx context.Context, rb *v1alpha1.RoleBaseline, force bool) {
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	if e := f.Registry.Get(rb.Name); !force && e.Current(rb) && !e.Stale {
		return
	}
	start := time.Now()
	e := f.Registry.Load(rb, func() (*drift.Snapshot, error) { return snapshot(ctx, f.Cache) }, f.Now())
	switch {
	case e.Stale:
		f.Log.Error(e.Err, "Reading the live RBAC for a baseline; retrying", "rolebaseline", rb.Name)
		f.due[rb.Name] = f.Now().Add(retryLoad)
	default:
		if e.Err == nil {
			loadSeconds.Observe(time.Since(start).Seconds())
		}
		f.due[rb.Name] = f.Now().Add(jitter(f.ResyncPeriod))
	}
	f.Registry.loaded(e)
}

// resync reloads the baselines whose reload is due, from the cache's current copy.
func (f *Feed) resync(ctx context.Context) {
	now := f.Now()
	f.loadMu.Lock()
	var due []string
	for name, at := range f.due {
		if !now.Before(at) {
			due = append(due, name)
		}
	}
	f.loadMu.Unlock()
	for _, name := range due {
		rb := &v1alpha1.RoleBaseline{}
		if err := f.Cache.Get(ctx, client.ObjectKey{Name: name}, rb); err != nil {
			continue // deleted: the handler forgets it
		}
		f.load(ctx, rb, true)
	}
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*0.1*float64(d))
}

func unwrapTombstone(o any) any {
	if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return o
}
