package guardrails

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Set is a set of catalog rules, one bit per catalog position.
type Set uint64

// All is the set of every catalog rule.
func All() Set { return Set(1)<<uint(len(catalog)) - 1 }

// SetOf returns the set holding the given IDs; unknown IDs are ignored.
func SetOf(ids ...v1alpha1.GuardrailID) Set {
	var s Set
	for _, id := range ids {
		if i, ok := index[id]; ok {
			s |= 1 << uint(i)
		}
	}
	return s
}

// Has reports whether the set holds id.
func (s Set) Has(id v1alpha1.GuardrailID) bool {
	i, ok := index[id]
	return ok && s&(1<<uint(i)) != 0
}

// With returns s with id added.
func (s Set) With(id v1alpha1.GuardrailID) Set { return s | SetOf(id) }

// Without returns s with id removed.
func (s Set) Without(id v1alpha1.GuardrailID) Set { return s &^ SetOf(id) }

// Match is a catalog rule a role or binding matched.
type Match struct {
	// ID of the matched rule.
	ID v1alpha1.GuardrailID
	// Requests are the dangerous requests the role covers (role rules, except wildcard-access).
	Requests []rbacv1.PolicyRule
	// Rules are the role's own rules that grant them.
	Rules []rbacv1.PolicyRule
	// Subjects are the offending subjects (binding rules).
	Subjects []rbacv1.Subject
}

// prefilter masks: which coverage rules could possibly be matched by a rule naming a
// verb, group or resource. They only skip rules that cannot match; the verdict is
// always validation.Covers.
var (
	verbMask, groupMask, resourceMask map[string]Set
	coverageRules                     Set
)

func init() {
	verbMask, groupMask, resourceMask = map[string]Set{}, map[string]Set{}, map[string]Set{}
	for i := range catalog {
		r := &catalog[i]
		if r.Target != TargetRole || r.syntactic != nil {
			continue
		}
		bit := Set(1) << uint(i)
		coverageRules |= bit
		for _, q := range append(append([]rbacv1.PolicyRule{}, r.anyOf...), r.allOf...) {
			for _, v := range q.Verbs {
				verbMask[v] |= bit
			}
			for _, g := range q.APIGroups {
				groupMask[g] |= bit
			}
			for _, res := range q.Resources {
				resourceMask[res] |= bit
				if _, sub, ok := strings.Cut(res, "/"); ok {
					resourceMask["*/"+sub] |= bit
				}
			}
		}
	}
}

// candidates returns the coverage rules a single policy rule could match.
func candidates(rule *rbacv1.PolicyRule) Set {
	// A rule restricted to resourceNames never covers a request for every name.
	if len(rule.ResourceNames) > 0 || len(rule.Resources) == 0 {
		return 0
	}
	var v, g, r Set
	for _, x := range rule.Verbs {
		if x == rbacv1.VerbAll {
			v = coverageRules
			break
		}
		v |= verbMask[x]
	}
	if v == 0 {
		return 0
	}
	for _, x := range rule.APIGroups {
		if x == rbacv1.APIGroupAll {
			g = coverageRules
			break
		}
		g |= groupMask[x]
	}
	if v&g == 0 {
		return 0
	}
	for _, x := range rule.Resources {
		if x == rbacv1.ResourceAll {
			r = coverageRules
			break
		}
		r |= resourceMask[x]
	}
	return v & g & r
}

// MatchRole returns the role rules in enabled that rules match, in catalog order.
// rules are not modified. A namespaced Role (namespaced true) cannot grant
// cluster-scoped resources, so catalog requests for them are not matched there.
func MatchRole(rules []rbacv1.PolicyRule, enabled Set, namespaced bool) []Match {
	var cand Set
	for i := range rules {
		cand |= candidates(&rules[i])
	}
	cand &= enabled
	var out []Match
	for i := range catalog {
		r := &catalog[i]
		if r.Target != TargetRole || enabled&(1<<uint(i)) == 0 {
			continue
		}
		if r.syntactic == nil && cand&(1<<uint(i)) == 0 {
			continue
		}
		if m, ok := r.match(rules, namespaced); ok {
			out = append(out, m)
		}
	}
	return out
}

// MatchRole reports whether the rules of a ClusterRole match this catalog rule. It is
// false for binding rules.
func (r *Rule) MatchRole(rules []rbacv1.PolicyRule) (Match, bool) { return r.match(rules, false) }

func (r *Rule) match(rules []rbacv1.PolicyRule, namespaced bool) (Match, bool) {
	if r.Target != TargetRole {
		return Match{}, false
	}
	if r.syntactic != nil {
		bad := r.syntactic(rules)
		return Match{ID: r.ID, Rules: bad}, len(bad) > 0
	}
	var covered []rbacv1.PolicyRule
	for _, q := range r.anyOf {
		if namespaced && requestClusterScoped(&q) {
			continue // a Role cannot grant it
		}
		if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{q}); ok {
			covered = append(covered, q)
		}
	}
	if len(r.allOf) > 0 && !(namespaced && slices.ContainsFunc(r.allOf, func(q rbacv1.PolicyRule) bool { return requestClusterScoped(&q) })) {
		if ok, _ := validation.Covers(rules, r.allOf); ok {
			covered = append(covered, r.allOf...)
		}
	}
	if len(covered) == 0 {
		return Match{}, false
	}
	m := Match{ID: r.ID}
	for _, q := range covered {
		m.Requests = append(m.Requests, *q.DeepCopy())
	}
	for i := range rules {
		for _, q := range covered {
			if ok, _ := validation.Covers(rules[i:i+1], []rbacv1.PolicyRule{q}); ok {
				m.Rules = append(m.Rules, *rules[i].DeepCopy())
				break
			}
		}
	}
	return m, true
}

// MatchBinding returns the subjects of a binding that this catalog rule flags; nil
// for role rules.
func (r *Rule) MatchBinding(roleRef rbacv1.RoleRef, subjects []rbacv1.Subject) []rbacv1.Subject {
	if r.binding == nil {
		return nil
	}
	return r.binding(roleRef, subjects)
}

// matchWildcard flags rules with * in verbs or resources (including */subresource)
// and the all-paths nonResourceURL "*". It is syntactic on
// purpose: CIS 5.1.3 is about the wildcard itself, not what it grants today.
func matchWildcard(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for i := range rules {
		if hasWildcard(&rules[i]) {
			out = append(out, *rules[i].DeepCopy())
		}
	}
	return out
}

// hasWildcard: * in verbs, * or */subresource in resources, or the nonResourceURL *.
// resource/* is no wildcard: it grants nothing (the engine reports it as ineffective).
func hasWildcard(r *rbacv1.PolicyRule) bool {
	for _, v := range r.Verbs {
		if v == rbacv1.VerbAll {
			return true
		}
	}
	for _, res := range r.Resources {
		if sub, ok := strings.CutPrefix(res, "*/"); res == rbacv1.ResourceAll || ok && !strings.Contains(sub, "*") {
			return true
		}
	}
	for _, u := range r.NonResourceURLs {
		if u == "*" {
			return true
		}
	}
	return false
}

func matchClusterAdminBinding(roleRef rbacv1.RoleRef, subjects []rbacv1.Subject) []rbacv1.Subject {
	if roleRef.Kind != "ClusterRole" || roleRef.Name != "cluster-admin" {
		return nil
	}
	return append([]rbacv1.Subject(nil), subjects...)
}

// anonymousNames are subjects that stand for everyone, or for unconditional admin.
var anonymousNames = map[string]rbacv1.Subject{
	"system:anonymous":       {Kind: rbacv1.UserKind, Name: "system:anonymous"},
	"system:unauthenticated": {Kind: rbacv1.GroupKind, Name: "system:unauthenticated"},
	"system:authenticated":   {Kind: rbacv1.GroupKind, Name: "system:authenticated"},
	"system:masters":         {Kind: rbacv1.GroupKind, Name: "system:masters"},
}

func matchAnonymousBinding(_ rbacv1.RoleRef, subjects []rbacv1.Subject) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, s := range subjects {
		if s.Kind != rbacv1.UserKind && s.Kind != rbacv1.GroupKind {
			continue
		}
		if _, ok := anonymousNames[s.Name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// MatchBindings returns the binding rules in enabled that a binding matches, in catalog order.
func MatchBindings(roleRef rbacv1.RoleRef, subjects []rbacv1.Subject, enabled Set) []Match {
	var out []Match
	for i := range catalog {
		r := &catalog[i]
		if r.Target != TargetBinding || enabled&(1<<uint(i)) == 0 {
			continue
		}
		if s := r.binding(roleRef, subjects); len(s) > 0 {
			out = append(out, Match{ID: r.ID, Subjects: s})
		}
	}
	return out
}
