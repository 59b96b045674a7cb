package controllers

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// SetupStandby keeps the evaluators current on a replica that is not the leader, so
// that every replica behind the webhook Service can answer Preview: the controller
// (and with it the hub's watch handlers) runs on the leader only. Until this replica
// is elected, informer handlers load each baseline from the cache and feed it every
// RBAC and Namespace change, as the controller would. On election they stop and the
// standby state is dropped, so the leader's reconciles load every baseline afresh (a
// deletion between the two would otherwise be missed). Without leader election the
// replica is elected at once and this does nothing. Call after SetupWithManager.
func (r *RoleBaselineReconciler) SetupStandby(mgr ctrl.Manager) error {
	if r.hub == nil {
		return fmt.Errorf("SetupStandby needs SetupWithManager first")
	}
	return mgr.Add(&standby{r: r, mgr: mgr})
}

type standby struct {
	r   *RoleBaselineReconciler
	mgr ctrl.Manager
	// mu orders the handlers with the election: once elected is set, the standby
	// touches nothing. loaded are the states the standby put in the hub; it updates and
	// drops only those, never a state the leader's reconcile loaded.
	mu      sync.Mutex
	elected bool
	loaded  map[string]*baselineState
}

// NeedLeaderElection: the standby is what runs when this replica is not the leader.
func (s *standby) NeedLeaderElection() bool { return false }

func (s *standby) Start(ctx context.Context) error {
	select {
	case <-s.mgr.Elected():
		return nil // the leader from the start: the controller keeps the hub
	default:
	}
	log := ctrl.LoggerFrom(ctx).WithName("standby")
	s.loaded = map[string]*baselineState{}
	for _, obj := range []client.Object{&rbacv1.Role{}, &rbacv1.ClusterRole{}, &rbacv1.RoleBinding{},
		&rbacv1.ClusterRoleBinding{}, &corev1.Namespace{}} {
		inf, err := s.mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(s.objectHandler()); err != nil {
			return err
		}
	}
	inf, err := s.mgr.GetCache().GetInformer(ctx, &v1alpha1.RoleBaseline{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(s.baselineHandler(ctx)); err != nil {
		return err
	}
	log.Info("Keeping evaluators current for the webhook until elected")
	select {
	case <-ctx.Done():
	case <-s.mgr.Elected():
		s.mu.Lock()
		s.elected = true
		h := s.r.hub
		h.mu.Lock()
		for name, st := range s.loaded {
			if h.baselines[name] == st {
				delete(h.baselines, name)
			}
		}
		h.mu.Unlock()
		s.loaded = nil
		s.mu.Unlock()
		log.Info("Elected; the controller keeps the evaluators from now on")
	}
	return nil
}

func unwrapTombstone(o any) any {
	if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return o
}

// objectHandler feeds RBAC and Namespace changes to the standby's evaluators.
func (s *standby) objectHandler() toolscache.ResourceEventHandler {
	apply := func(o any, deleted bool) {
		obj, ok := unwrapTombstone(o).(client.Object)
		if !ok {
			return
		}
		ref, ok := refOf(obj)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.elected {
			return
		}
		h := s.r.hub
		h.mu.RLock()
		defer h.mu.RUnlock()
		for name, st := range s.loaded {
			if h.baselines[name] != st {
				continue
			}
			st.mu.Lock()
			h.change(st, obj, ref, deleted)
			st.mu.Unlock()
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { apply(o, false) },
		UpdateFunc: func(_, o any) { apply(o, false) },
		DeleteFunc: func(o any) { apply(o, true) },
	}
}

// baselineHandler loads a baseline when it appears or its spec changes, and forgets
// it when it goes.
func (s *standby) baselineHandler(ctx context.Context) toolscache.ResourceEventHandler {
	load := func(o any) {
		rb, ok := o.(*v1alpha1.RoleBaseline)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.elected {
			return
		}
		if st := s.loaded[rb.Name]; st != nil && st.baseline.UID == rb.UID && st.baseline.Generation == rb.Generation {
			return
		}
		eval, err := drift.NewEvaluator(&rb.Spec, nil)
		if err != nil {
			s.forget(rb.Name) // the controller reports InvalidSpec; nothing to judge by
			return
		}
		st, err := s.r.hub.load(rb, eval, func() (*drift.Snapshot, error) { return s.r.snapshot(ctx) }, s.r.Now())
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Loading a baseline for the webhook", "baseline", rb.Name)
			return
		}
		s.loaded[rb.Name] = st
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    load,
		UpdateFunc: func(_, o any) { load(o) },
		DeleteFunc: func(o any) {
			if rb, ok := unwrapTombstone(o).(*v1alpha1.RoleBaseline); ok {
				s.mu.Lock()
				defer s.mu.Unlock()
				if !s.elected {
					s.forget(rb.Name)
				}
			}
		},
	}
}

// forget drops a standby state from the hub; s.mu is held.
func (s *standby) forget(name string) {
	if st := s.loaded[name]; st != nil && s.r.hub.get(name) == st {
		s.r.hub.remove(name)
	}
	delete(s.loaded, name)
}
