package audit

import (
	"slices"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

const day = 24 * time.Hour

// Aggregator counts allowed requests per granting binding, subject and request
// attributes over a window. It holds at most maxAccesses distinct accesses in all;
// past that, new ones are dropped and counted (known ones still count), so memory
// is bounded whatever the cluster does. Each access belongs to the day it was last
// seen, which is how it is persisted and how it expires. It is safe for concurrent use.
type Aggregator struct {
	window      time.Duration
	maxAccesses int
	now         func() time.Time

	mu sync.Mutex
	// entries are keyed by Access.appendKey: one short string per access instead of a
	// struct of 17 strings, which keeps the capped map a few MiB.
	entries map[string]*stat
	dirty   map[int64]bool // days (since the epoch, UTC) whose stored form is stale
	changed chan struct{}
}

type stat struct {
	count uint64
	last  int64 // unix seconds
}

// NewAggregator keeps window worth of usage (at least a second), at most maxAccesses
// distinct accesses. now may be nil (time.Now).
func NewAggregator(window time.Duration, maxAccesses int, now func() time.Time) *Aggregator {
	if now == nil {
		now = time.Now
	}
	return &Aggregator{window: max(window, time.Second), maxAccesses: max(1, maxAccesses), now: now,
		entries: map[string]*stat{}, dirty: map[int64]bool{}, changed: make(chan struct{}, 1)}
}

// Window is the usage window.
func (g *Aggregator) Window() time.Duration { return g.window }

func dayOf(t time.Time) int64 { return unixDay(t.Unix()) }

func unixDay(sec int64) int64 { return sec / int64(day/time.Second) }

// Changed is signalled (coalesced) when an access is seen for the first time or data
// is loaded or pruned: the moments UnusedPermission findings may change.
func (g *Aggregator) Changed() <-chan struct{} { return g.changed }

func (g *Aggregator) signal() {
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// Add counts one access at t. It returns false when the aggregator is full and a is new.
func (g *Aggregator) Add(a Access, t time.Time) bool {
	now := g.now()
	if t.After(now) || t.IsZero() {
		t = now // clock skew: never count into the future
	}
	if now.Sub(t) > g.window {
		return true // older than the window: moot
	}
	var buf [256]byte
	k, ok := a.appendKey(buf[:0])
	if !ok {
		return true // a NUL in a name: no RBAC rule can name it anyway
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.entries[string(k)] // no allocation for a lookup
	if s == nil {
		if len(g.entries) >= g.maxAccesses {
			return false
		}
		s = &stat{}
		g.entries[string(k)] = s
		g.signal()
	} else if sec := t.Unix(); sec > s.last && unixDay(sec) != unixDay(s.last) {
		g.dirty[unixDay(s.last)] = true // it moves to a later day
	}
	s.count++
	s.last = max(s.last, t.Unix())
	g.dirty[unixDay(s.last)] = true
	return true
}

// Prune forgets accesses last seen on days entirely outside the window and returns
// those days.
func (g *Aggregator) Prune() []int64 {
	oldest := dayOf(g.now().Add(-g.window))
	g.mu.Lock()
	defer g.mu.Unlock()
	gone := map[int64]bool{}
	for a, s := range g.entries {
		if d := unixDay(s.last); d < oldest {
			delete(g.entries, a)
			gone[d] = true
		}
	}
	var out []int64
	for d := range gone {
		delete(g.dirty, d)
		out = append(out, d)
	}
	if len(out) > 0 {
		g.signal()
	}
	return out
}

// Snapshot returns the usage over the window for the engine, or nil when there is
// no usage data at all: without evidence, nothing is reported unused.
func (g *Aggregator) Snapshot() *Snapshot {
	oldest := dayOf(g.now().Add(-g.window))
	g.mu.Lock()
	defer g.mu.Unlock()
	s := &Snapshot{byBinding: map[drift.ObjectRef]map[rbacv1.Subject][]rbacv1.PolicyRule{}}
	for key, st := range g.entries {
		if unixDay(st.last) < oldest {
			continue
		}
		a := accessOf(key)
		bySubject := s.byBinding[a.Grant.Binding]
		if bySubject == nil {
			bySubject = map[rbacv1.Subject][]rbacv1.PolicyRule{}
			s.byBinding[a.Grant.Binding] = bySubject
		}
		bySubject[a.Grant.Subject] = append(bySubject[a.Grant.Subject], a.requested())
		s.accesses++
	}
	if s.accesses == 0 {
		return nil
	}
	return s
}

// accessFields is how many fields appendKey writes.
const accessFields = 15

// appendKey appends a's fields separated by NUL; false if a field holds a NUL.
func (a *Access) appendKey(b []byte) ([]byte, bool) {
	g := &a.Grant
	for i, f := range [accessFields]string{g.Binding.Kind, g.Binding.Namespace, g.Binding.Name, g.RoleKind, g.RoleName,
		g.Subject.Kind, g.Subject.Namespace, g.Subject.Name, a.Verb, a.APIGroup, a.Resource, a.Subresource,
		a.Namespace, a.Name, a.NonResourceURL} {
		if strings.IndexByte(f, 0) >= 0 {
			return b, false
		}
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, f...)
	}
	return b, true
}

// accessOf decodes a key written by appendKey.
func accessOf(key string) Access {
	var f [accessFields]string
	for i := range accessFields - 1 {
		f[i], key, _ = strings.Cut(key, "\x00")
	}
	f[accessFields-1] = key
	a := Access{Grant: Grant{Binding: drift.ObjectRef{Kind: f[0], Namespace: f[1], Name: f[2]}, RoleKind: f[3], RoleName: f[4],
		Subject: rbacv1.Subject{Kind: f[5], Namespace: f[6], Name: f[7]}},
		Verb: f[8], APIGroup: f[9], Resource: f[10], Subresource: f[11], Namespace: f[12], Name: f[13], NonResourceURL: f[14]}
	if a.Grant.Subject.Kind != rbacv1.ServiceAccountKind {
		a.Grant.Subject.APIGroup = rbacv1.GroupName
	}
	return a
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

// Snapshot is immutable usage data; it implements drift.Usage. Requests are kept by
// binding, then subject: most bindings a baseline asks about were never used, and
// the binding alone answers for them.
type Snapshot struct {
	byBinding map[drift.ObjectRef]map[rbacv1.Subject][]rbacv1.PolicyRule
	accesses  int
}

// Accesses is how many distinct accesses the snapshot holds.
func (s *Snapshot) Accesses() int { return s.accesses }

// Requests implements drift.UsageRequests: the requests recorded for subject
// through binding, so the engine looks each grant up once.
func (s *Snapshot) Requests(binding drift.ObjectRef, subject rbacv1.Subject) []rbacv1.PolicyRule {
	return s.byBinding[binding][subject]
}

// Used implements drift.Usage: whether any request allowed through binding for
// subject falls under rule.
func (s *Snapshot) Used(binding drift.ObjectRef, subject rbacv1.Subject, rule rbacv1.PolicyRule) bool {
	return slices.ContainsFunc(s.Requests(binding, subject), func(req rbacv1.PolicyRule) bool {
		return drift.CoversRequest(rule, req)
	})
}

var (
	_ drift.Usage         = (*Snapshot)(nil)
	_ drift.UsageRequests = (*Snapshot)(nil)
)
