package report

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// enforceStatusInterval spaces an Enforce baseline's status writes: a tampering, its
// revert and the revert's watch event would otherwise write status three times within
// a few milliseconds, competing with the next revert for the API server.
const enforceStatusInterval = 200 * time.Millisecond

// Memory is what the status controller remembers of one baseline between reconciles:
// what its status and events announced. Only the controller's single worker for the
// baseline touches it.
type Memory struct {
	uid types.UID
	// written is the status after the last write: the informer cache can lag behind
	// the operator's own patches, and a status computed against a stale copy would be
	// judged unchanged and never written. The operator is the only writer of status.
	written *v1alpha1.RoleBaselineStatus
	// statusAt is when status was last written.
	statusAt time.Time
	// pendingSince is when the oldest change not yet written to status was observed.
	pendingSince time.Time
	// reported are the findings announced in status and events; seeded is true once
	// they reflect this process's own status write.
	reported reportedSet
	seeded   bool
	// budget limits the events of this baseline; suppressed counts what it held back.
	budget     *rate.Limiter
	suppressed int
}

type memories struct {
	mu sync.Mutex
	m  map[string]*Memory
}

// of returns the memory of rb, new for a new UID.
func (ms *memories) of(rb *v1alpha1.RoleBaseline) *Memory {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.m == nil {
		ms.m = map[string]*Memory{}
	}
	m := ms.m[rb.Name]
	if m == nil || m.uid != rb.UID {
		m = &Memory{uid: rb.UID, reported: reportedSet{}, budget: newEventBudget()}
		ms.m[rb.Name] = m
	}
	return m
}

// forget drops a baseline's memory and returns the UID it had.
func (ms *memories) forget(name string) (types.UID, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.m[name]
	delete(ms.m, name)
	if !ok {
		return "", false
	}
	return m.uid, true
}

// Hold returns how long an Enforce baseline's status write should wait to be merged
// with what follows, or 0. Audit baselines and dry runs never wait.
func (m *Memory) Hold(rb *v1alpha1.RoleBaseline, now time.Time) time.Duration {
	if !rb.Spec.Enforces() || m.statusAt.IsZero() || m.written == nil || m.written.ObservedGeneration != rb.Generation {
		return 0
	}
	return max(0, m.statusAt.Add(enforceStatusInterval).Sub(now))
}

// changed notes the oldest change a pass took from the registry's change log.
func (m *Memory) changed(since time.Time) {
	if !since.IsZero() && (m.pendingSince.IsZero() || since.Before(m.pendingSince)) {
		m.pendingSince = since
	}
}

// Observed records that the pending changes are in status (written now or already).
func (m *Memory) Observed(now time.Time) {
	if !m.pendingSince.IsZero() {
		detectionSeconds.Observe(now.Sub(m.pendingSince).Seconds())
		m.pendingSince = time.Time{}
	}
}

// Wrote records a status write.
func (m *Memory) Wrote(st *v1alpha1.RoleBaselineStatus, at time.Time) {
	m.written = st.DeepCopy()
	m.statusAt = at
	m.Observed(at)
}

// Written is the status after the last write, or nil; the caller may change it.
func (m *Memory) Written() *v1alpha1.RoleBaselineStatus {
	if m.written == nil {
		return nil
	}
	return m.written.DeepCopy()
}
