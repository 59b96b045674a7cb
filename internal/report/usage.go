package report

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// usageWait bounds how long status waits for stored usage after a start.
const usageWait = 10 * time.Second

// AwaitUsage returns how long to hold a status write back, right after a start, until
// the stored usage is loaded and applied (at most usageWait), so a restart does not
// drop the UnusedPermission findings from status only to add them back; 0: go ahead.
func (r *Reporter) AwaitUsage() time.Duration {
	a := r.Audit
	if a == nil || a.Usage == nil {
		return 0
	}
	select {
	case <-a.applied:
		return 0
	default:
	}
	if r.Now().Sub(a.started) >= usageWait {
		return 0
	}
	return 250 * time.Millisecond
}

// usageLoop applies new usage data to the registry's evaluators, coalesced: usage
// changes are signalled on every first-seen access and applied at most once per
// UsageRefresh; the registry announces the baselines whose findings change.
func (r *Reporter) usageLoop(ctx context.Context) error {
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
		r.Registry.SetUsage(u, r.Now())
		a.appliedOnce.Do(func() { close(a.applied) })
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
