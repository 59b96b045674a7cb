package audit

import (
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

const day = 24 * time.Hour

// Aggregator counts allowed requests per granting binding, subject and request
// attributes, in day buckets over a window. A day holds at most maxPerDay distinct
// accesses; past that, new ones are dropped and counted (counts of known ones still
// grow). It is safe for concurrent use.
type Aggregator struct {
	window    time.Duration
	maxPerDay int
	now       func() time.Time

	mu      sync.Mutex
	days    map[int64]map[Access]*stat // by day number since the epoch (UTC)
	dirty   map[int64]bool
	changed chan struct{}
}

type stat struct {
	count uint64
	last  int64 // unix seconds
}

// NewAggregator keeps window worth of days (at least one). now may be nil (time.Now).
func NewAggregator(window time.Duration, maxPerDay int, now func() time.Time) *Aggregator {
	if now == nil {
		now = time.Now
	}
	return &Aggregator{window: max(window, time.Second), maxPerDay: max(1, maxPerDay), now: now,
		days: map[int64]map[Access]*stat{}, dirty: map[int64]bool{}, changed: make(chan struct{}, 1)}
}

// Window is the usage window.
func (g *Aggregator) Window() time.Duration { return g.window }

func dayOf(t time.Time) int64 { return t.Unix() / int64(day/time.Second) }

// Changed is signalled (coalesced) when an access is seen for the first time or data
// is loaded or pruned: the moments UnusedPermission findings may change.
func (g *Aggregator) Changed() <-chan struct{} { return g.changed }

func (g *Aggregator) signal() {
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// Add counts one access at t. It returns false when t's day is full and a is new.
func (g *Aggregator) Add(a Access, t time.Time) bool {
	now := g.now()
	if t.After(now) || t.IsZero() {
		t = now // clock skew: never count into the future
	}
	if now.Sub(t) > g.window {
		return true // older than the window: moot
	}
	d := dayOf(t)
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.days[d]
	if m == nil {
		m = map[Access]*stat{}
		g.days[d] = m
	}
	s := m[a]
	if s == nil {
		if len(m) >= g.maxPerDay {
			return false
		}
		s = &stat{}
		m[a] = s
		g.signal()
	}
	s.count++
	s.last = max(s.last, t.Unix())
	g.dirty[d] = true
	return true
}

// Prune forgets days entirely outside the window and returns them.
func (g *Aggregator) Prune() []int64 {
	oldest := dayOf(g.now().Add(-g.window))
	g.mu.Lock()
	defer g.mu.Unlock()
	var gone []int64
	for d := range g.days {
		if d < oldest {
			delete(g.days, d)
			delete(g.dirty, d)
			gone = append(gone, d)
		}
	}
	if len(gone) > 0 {
		g.signal()
	}
	return gone
}

// Snapshot returns the usage over the window for the engine, or nil when there is
// no usage data at all: without evidence, nothing is reported unused.
func (g *Aggregator) Snapshot() *Snapshot {
	oldest := dayOf(g.now().Add(-g.window))
	g.mu.Lock()
	defer g.mu.Unlock()
	s := &Snapshot{byGrant: map[grantKey][]rbacv1.PolicyRule{}}
	seen := map[Access]bool{}
	for d, m := range g.days {
		if d < oldest {
			continue
		}
		for a := range m {
			if seen[a] {
				continue
			}
			seen[a] = true
			k := grantKey{a.Grant.Binding, a.Grant.Subject}
			s.byGrant[k] = append(s.byGrant[k], a.requested())
		}
	}
	if len(seen) == 0 {
		return nil
	}
	s.accesses = len(seen)
	return s
}

// requested is the request as a rule, so a granted rule can be checked against it
// with validation.Covers, the RBAC semantics of wildcards, subresources and names.
func (a *Access) requested() rbacv1.PolicyRule {
	if a.NonResourceURL != "" {
		return rbacv1.PolicyRule{Verbs: []string{a.Verb}, NonResourceURLs: []string{a.NonResourceURL}}
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	r := rbacv1.PolicyRule{Verbs: []string{a.Verb}, APIGroups: []string{a.APIGroup}, Resources: []string{res}}
	if a.Name != "" {
		r.ResourceNames = []string{a.Name}
	}
	return r
}

type grantKey struct {
	binding drift.ObjectRef
	subject rbacv1.Subject
}

// Snapshot is immutable usage data; it implements drift.Usage.
type Snapshot struct {
	byGrant  map[grantKey][]rbacv1.PolicyRule
	accesses int
}

// Accesses is how many distinct accesses the snapshot holds.
func (s *Snapshot) Accesses() int { return s.accesses }

// Used implements drift.Usage: whether any request allowed through binding for
// subject falls under rule.
func (s *Snapshot) Used(binding drift.ObjectRef, subject rbacv1.Subject, rule rbacv1.PolicyRule) bool {
	owner := []rbacv1.PolicyRule{rule}
	for _, req := range s.byGrant[grantKey{binding, subject}] {
		if ok, _ := validation.Covers(owner, []rbacv1.PolicyRule{req}); ok {
			return true
		}
	}
	return false
}

var _ drift.Usage = (*Snapshot)(nil)
