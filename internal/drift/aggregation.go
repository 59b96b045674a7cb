package drift

import (
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// aggregation follows the live aggregated ClusterRoles. The aggregation controller
// writes into each the rules of every ClusterRole its selectors match, aggregated
// ones included, so selection is transitive. The engine computes that union itself:
// an aggregated role is judged on what it will grant, also at admission, before the
// controller has run. It also tracks the ClusterRoles labelled into admin, edit or
// view and the subjects bound to those, for the default-role-aggregation guardrail.
// Aggregated roles are few (tens), so each change that concerns them recomputes
// every union.
type aggregation struct {
	clusterRoles map[string]*entry           // every live ClusterRole: what a selector may match
	roles        map[string]*aggRole         // aggregated ClusterRoles by name
	feeders      map[string]*entry           // ClusterRoles labelled into admin, edit or view
	bound        map[string]map[*entry]bool  // bindings of each default role
	boundCache   map[string][]rbacv1.Subject // sorted subjects per set of default roles, until a binding changes
}

// aggRole is one aggregated ClusterRole.
type aggRole struct {
	ent     *entry
	sels    []labels.Selector
	direct  map[string]bool // ClusterRoles its selectors match
	members map[string]bool // every ClusterRole it takes rules from, through aggregated ones too
}

func newAggregation() aggregation {
	return aggregation{clusterRoles: map[string]*entry{}, roles: map[string]*aggRole{}, feeders: map[string]*entry{},
		bound: map[string]map[*entry]bool{}, boundCache: map[string][]rbacv1.Subject{}}
}

// aggregated reports whether a live ClusterRole takes its rules from others.
func (ent *entry) aggregated() bool { return ent.agg != nil && len(ent.agg.ClusterRoleSelectors) > 0 }

func (r *aggRole) selects(lbl map[string]string) bool {
	for _, s := range r.sels {
		if s.Matches(labels.Set(lbl)) {
			return true
		}
	}
	return false
}

// selected reports whether any live aggregated role selects a ClusterRole with these labels.
func (a *aggregation) selected(lbl map[string]string) bool {
	for _, r := range a.roles {
		if r.selects(lbl) {
			return true
		}
	}
	return false
}

// touch records that the ClusterRole old (nil when new) gives way to new (nil when
// deleted). It reports whether an aggregated role's selection may have changed.
func (a *aggregation) touch(old, new *entry) bool {
	relevant := false
	if old != nil {
		name := old.ref.Name
		delete(a.clusterRoles, name)
		delete(a.feeders, name)
		if _, ok := a.roles[name]; ok {
			delete(a.roles, name)
			relevant = true
		}
		for _, r := range a.roles {
			if r.direct[name] {
				delete(r.direct, name)
				relevant = true
			}
		}
	}
	if new == nil {
		return relevant
	}
	name := new.ref.Name
	a.clusterRoles[name] = new
	// The default roles feed each other by design (view into edit into admin).
	if len(guardrails.LabelledDefaults(new.labels)) > 0 && !slices.Contains(guardrails.DefaultRoles, name) {
		a.feeders[name] = new
	}
	for _, r := range a.roles {
		if r.selects(new.labels) {
			r.direct[name] = true
			relevant = true
		}
	}
	if new.aggregated() {
		r := &aggRole{ent: new, direct: map[string]bool{}}
		for _, ls := range new.agg.ClusterRoleSelectors {
			// The API server validates selectors; one that does not parse selects nothing.
			if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
				r.sels = append(r.sels, s)
			}
		}
		for n, c := range a.clusterRoles {
			if r.selects(c.labels) {
				r.direct[n] = true
			}
		}
		a.roles[name] = r
		relevant = true
	}
	return relevant
}

// reaggregate recomputes each aggregated role's members and rules, and returns the
// roles whose rules changed.
func (a *aggregation) reaggregate() []*entry {
	var changed []*entry
	for _, r := range a.roles {
		r.members = map[string]bool{}
		a.collect(r, r.members)
		var rules []rbacv1.PolicyRule
		for _, n := range slices.Sorted(maps.Keys(r.members)) {
			if _, agg := a.roles[n]; !agg {
				rules = append(rules, a.clusterRoles[n].rules...)
			}
		}
		// The controller overwrites an aggregated role's own rules, so only the
		// members' count, and their ineffective rules are reported on them.
		r.ent.vain = nil
		if !rulesEqual(rules, r.ent.rules) {
			r.ent.rules, r.ent.hashed, r.ent.escFor = rules, false, [2]*contrib{}
			changed = append(changed, r.ent)
		}
	}
	return changed
}

// collect adds to seen every ClusterRole r takes rules from; seen makes it cycle-safe.
func (a *aggregation) collect(r *aggRole, seen map[string]bool) {
	for n := range r.direct {
		if seen[n] || n == r.ent.ref.Name {
			continue
		}
		seen[n] = true
		if sub := a.roles[n]; sub != nil {
			a.collect(sub, seen)
		}
	}
}

// feeds returns the live aggregated ClusterRoles that take a ClusterRole's rules, sorted.
func (a *aggregation) feeds(name string) []string {
	var out []string
	for n, r := range a.roles {
		if r.members[name] {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// boundTo returns the key of the default role a binding grants, or "".
func boundTo(ent *entry) string {
	if ent.roleRef.Kind == KindClusterRole && slices.Contains(guardrails.DefaultRoles, ent.roleRef.Name) {
		return ent.roleRef.Name
	}
	return ""
}

// bind records that binding old (nil when new) gives way to new (nil when deleted),
// and reports whether the subjects of a default role may have changed.
func (a *aggregation) bind(old, new *entry) bool {
	changed := false
	for i, b := range []*entry{old, new} {
		r := ""
		if b != nil {
			r = boundTo(b)
		}
		if r == "" {
			continue
		}
		if i == 0 {
			delete(a.bound[r], b)
		} else {
			if a.bound[r] == nil {
				a.bound[r] = map[*entry]bool{}
			}
			a.bound[r][b] = true
		}
		changed = true
	}
	if changed {
		clear(a.boundCache)
	}
	return changed
}

// subjects returns the subjects in-scope bindings grant any of the default roles,
// sorted and unique.
func (a *aggregation) subjects(roles []string) []rbacv1.Subject {
	key := strings.Join(roles, ",")
	if s, ok := a.boundCache[key]; ok {
		return s
	}
	var out []rbacv1.Subject
	for _, r := range roles {
		for b := range a.bound[r] {
			if !b.inScope {
				continue
			}
			for _, s := range b.subjects {
				out = append(out, normalizeSubject(s, b.ref.Namespace))
			}
		}
	}
	slices.SortFunc(out, compareSubjects)
	out = slices.CompactFunc(out, func(x, y rbacv1.Subject) bool { return compareSubjects(x, y) == 0 })
	a.boundCache[key] = out
	return out
}

// aggregationOf is what the default-role-aggregation guardrail judges of a feeder.
func (a *aggregation) aggregationOf(ent *entry) *guardrails.Aggregation {
	g := &guardrails.Aggregation{Labels: ent.labels, Rules: ent.rules, Feeds: a.feeds(ent.ref.Name)}
	roles := g.Feeds
	if len(roles) == 0 {
		roles = guardrails.LabelledDefaults(ent.labels)
	}
	var defaults []string
	for _, r := range roles {
		if slices.Contains(guardrails.DefaultRoles, r) {
			defaults = append(defaults, r)
		}
	}
	all := a.subjects(defaults)
	g.Bound = len(all)
	g.Subjects = all[:min(len(all), maxFindingSubjects)]
	return g
}

// maxFindingSubjects bounds the subjects a finding carries.
const maxFindingSubjects = 20
