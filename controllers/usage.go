package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// usageWait bounds how long a reconcile waits for stored usage after a start.
const usageWait = 10 * time.Second

// usage is the usage data new evaluators start from: nil (no UnusedPermission
// findings) without audit usage or without data. Right after a start it waits (at
// most usageWait) for the stored usage to be loaded and applied, so a restart does
// not drop the UnusedPermission findings from status only to add them back.
func (r *RoleBaselineReconciler) usage(ctx context.Context) drift.Usage {
	if r.Audit == nil {
		return nil
	}
	if r.Audit.Usage != nil {
		t := time.NewTimer(usageWait)
		select {
		case <-r.Audit.applied:
		case <-ctx.Done():
		case <-t.C:
			ctrl.LoggerFrom(ctx).Info("Stored usage not loaded yet; evaluating without it")
		}
		t.Stop()
	}
	r.Audit.mu.Lock()
	defer r.Audit.mu.Unlock()
	return r.Audit.usage
}

// usageLoop applies new usage data to every baseline, coalesced: usage changes are
// signalled on every first-seen access, applied at most once per UsageRefresh, and
// only baselines whose findings change are reconciled.
func (r *RoleBaselineReconciler) usageLoop(ctx context.Context) error {
	a := r.Audit
	refresh := a.UsageRefresh
	if refresh <= 0 {
		refresh = 30 * time.Second
	}
	if a.UsageLoaded != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-a.UsageLoaded:
		}
	}
	log := ctrl.LoggerFrom(ctx).WithName("usage")
	for {
		var u drift.Usage
		if snap := a.Usage.Snapshot(); snap != nil { // a nil *Snapshot must stay a nil interface
			u = snap
			log.V(1).Info("Applying usage data", "accesses", snap.Accesses())
		}
		a.mu.Lock()
		a.usage = u
		q := a.queue
		a.mu.Unlock()
		a.appliedOnce.Do(func() { close(a.applied) })
		for _, name := range r.hub.setUsage(u) {
			if q != nil {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.Usage.Changed():
		case <-time.After(max(refresh, time.Hour)):
			// Days leave the window even when nothing new is seen.
			a.Usage.Prune()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(refresh):
		}
	}
}

// setUsage swaps the usage data of every baseline's evaluator and returns the
// baselines whose findings changed.
func (h *hub) setUsage(u drift.Usage) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var changed []string
	for name, st := range h.baselines {
		st.mu.Lock()
		if st.eval.SetUsage(u) {
			changed = append(changed, name)
		}
		st.mu.Unlock()
	}
	return changed
}
