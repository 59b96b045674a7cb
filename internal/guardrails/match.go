package guardrails

import (
	"fmt"
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
	// Names are the resourceNames a grant is narrowed to, when it is.
	Names []string
	// Lower is how many steps below the rule's severity the match is graded: a grant
	// narrowed by resourceNames or namespace, one that matters only on other API
	// server versions, a broad group bound to a harmless role.
	Lower int
	// Note qualifies the match for people: the names, namespace or version judged.
	Note string
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
	// resourceNames are ignored here: a rule narrowed by them still grants those objects.
	if len(rule.Resources) == 0 {
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
	grantable := func(q *rbacv1.PolicyRule) bool { return !namespaced || !requestClusterScoped(q) }
	var full, named []rbacv1.PolicyRule
	var names, critical []string
	for i := range r.anyOf {
		q := &r.anyOf[i]
		if !grantable(q) {
			continue // a Role cannot grant it
		}
		if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{*q}); ok {
			full = append(full, *q)
		} else if n := namedCover(rules, q); len(n) > 0 {
			named, names = append(named, *q), append(names, n...)
		}
	}
	if len(r.allOf) > 0 && !slices.ContainsFunc(r.allOf, func(q rbacv1.PolicyRule) bool { return !grantable(&q) }) {
		f, n, ns, crit := r.coverAll(rules)
		full, named, names = append(full, f...), append(named, n...), append(names, ns...)
		critical = crit
	}
	if len(full)+len(named) == 0 {
		return Match{}, false
	}
	m := Match{ID: r.ID}
	for _, q := range append(full, named...) {
		m.Requests = append(m.Requests, *q.DeepCopy())
		if namespaced && OwnNamespace(q.APIGroups[0], q.Resources[0]) && m.Note == "" {
			m.Note = "on the Role's own namespace: a RoleBinding grants it for the Namespace object it is in"
		}
	}
	for i := range rules {
		if slices.ContainsFunc(full, func(q rbacv1.PolicyRule) bool { return covers(&rules[i], &q) }) ||
			slices.ContainsFunc(named, func(q rbacv1.PolicyRule) bool { return coversIgnoringNames(&rules[i], &q) }) {
			m.Rules = append(m.Rules, *rules[i].DeepCopy())
		}
	}
	if len(full) == 0 {
		// resourceNames narrow the grant to those objects; it is still granted.
		slices.Sort(names)
		m.Names = slices.Compact(names)
		m.Lower = 1
		m.Note = join("only for resourceNames "+strings.Join(m.Names, ", "), m.Note)
	}
	if len(critical) > 0 {
		m.Note = join(fmt.Sprintf("resourceNames %s %s", strings.Join(critical, ", "), r.fullNote), m.Note)
	}
	if r.grade != nil {
		r.grade(&m, CurrentServer())
	}
	return m, true
}

// coverAll matches an allOf rule: every request covered, in full or for some names.
// A name in fullNames counts as the whole resource; critical returns those named.
func (r *Rule) coverAll(rules []rbacv1.PolicyRule) (full, named []rbacv1.PolicyRule, names, critical []string) {
	for i := range r.allOf {
		q := &r.allOf[i]
		if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{*q}); ok {
			continue
		}
		n := namedCover(rules, q)
		if len(n) == 0 {
			return nil, nil, nil, nil
		}
		hit := slices.DeleteFunc(slices.Clone(n), func(x string) bool { return !slices.Contains(r.fullNames[q.Resources[0]], x) })
		if len(hit) > 0 {
			critical = append(critical, hit...)
		} else {
			named, names = append(named, *q), append(names, n...)
		}
	}
	if len(named) > 0 {
		return nil, r.allOf, names, nil
	}
	return r.allOf, nil, nil, critical
}

// covers: one rule covers one request.
func covers(rule, q *rbacv1.PolicyRule) bool {
	ok, _ := validation.Covers([]rbacv1.PolicyRule{*rule}, []rbacv1.PolicyRule{*q})
	return ok
}

// coversIgnoringNames: a rule with resourceNames would cover the request without them.
func coversIgnoringNames(rule, q *rbacv1.PolicyRule) bool {
	if len(rule.ResourceNames) == 0 || !namable(q) {
		return false
	}
	wide := *rule
	wide.ResourceNames = nil
	return covers(&wide, q)
}

// namedCover returns the resourceNames under which rules grant request q for some
// objects only. Creating a top-level resource names no object, so resourceNames
// never allow it (evaluation_helpers.go ResourceNameMatches matches the request's
// name, empty for create); a subresource's create (pods/exec, serviceaccounts/token)
// names its parent.
func namedCover(rules []rbacv1.PolicyRule, q *rbacv1.PolicyRule) []string {
	var names []string
	for i := range rules {
		if coversIgnoringNames(&rules[i], q) {
			names = append(names, rules[i].ResourceNames...)
		}
	}
	return names
}

func namable(q *rbacv1.PolicyRule) bool {
	return !slices.Contains(q.Verbs, "create") || strings.Contains(q.Resources[0], "/")
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
