package drift

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// usageIndex is an optional Usage method: whether any request at all was recorded
// for subject through binding. A grant never used at all, the common case, then
// skips the per-piece questions and reuses one cached answer per role.
type usageIndex interface {
	Any(binding ObjectRef, subject rbacv1.Subject) bool
}

// UsageRequests is an optional Usage method, preferred over Used and Any: the
// requests recorded for subject through binding (each one verb and one resource or
// URL), none when the grant was never used. The engine then looks usage up once per
// (binding, subject) and matches every granted piece with CoversRequest.
type UsageRequests interface {
	Requests(binding ObjectRef, subject rbacv1.Subject) []rbacv1.PolicyRule
}

// appendUnused: the pieces of the rules a binding grants one subject that the usage
// data never saw used through that binding. One advisory finding per (binding,
// subject) with unused pieces, appended to out.
func (e *Evaluator) appendUnused(out []Finding, ent, role *entry) []Finding {
	viaRB := ent.ref.Kind == KindRoleBinding
	key := grantKey{e.ruleHash(role), viaRB}
	hit := e.cache.grant[key]
	if hit == nil || !rulesEqual(hit.rules, role.rules) {
		hit = &grantHit{rules: role.rules}
		for _, r := range grantedRules(role.rules, viaRB) {
			hit.atoms = append(hit.atoms, validation.BreakdownRule(r)...)
		}
		hit.all = compactRules(hit.atoms)
		hit.text = describeRules(hit.all)
		e.cache.grant[key] = hit
	}
	if len(hit.atoms) == 0 {
		return out
	}
	lister, _ := e.usage.(UsageRequests)
	idx, _ := e.usage.(usageIndex)
	var seen map[subjectKey]bool // for long subject lists; short ones are scanned
	if len(ent.subjects) > 8 {
		seen = make(map[subjectKey]bool, len(ent.subjects))
	}
	for i := range ent.subjects {
		subject := &ent.subjects[i]
		if s := normalizeSubject(*subject, ent.ref.Namespace); s != *subject {
			subject = &s
		}
		if seen != nil {
			if seen[keyOf(*subject)] {
				continue
			}
			seen[keyOf(*subject)] = true
		} else if slices.ContainsFunc(ent.subjects[:i], func(o rbacv1.Subject) bool {
			return keyOf(normalizeSubject(o, ent.ref.Namespace)) == keyOf(*subject)
		}) {
			continue // named twice
		}
		f := Finding{Type: v1alpha1.FindingUnusedPermission, Object: ent.ref, Severity: typeSeverity[v1alpha1.FindingUnusedPermission],
			Subject: subject, Rules: hit.all, roleRef: ent.roleRef, rulesText: &hit.text,
			unused: int32(len(hit.atoms)), granted: int32(len(hit.atoms))}
		var reqs []rbacv1.PolicyRule
		switch {
		case lister != nil:
			if reqs = lister.Requests(ent.ref, *subject); len(reqs) == 0 {
				out = append(out, f) // never used
				continue
			}
		case idx != nil && !idx.Any(ent.ref, *subject):
			out = append(out, f)
			continue
		}
		n, u := e.unusedOf(hit, ent.ref, *subject, reqs)
		if n == 0 {
			continue
		}
		if u != nil {
			f.Rules, f.rulesText, f.unused = u.rules, &u.text, int32(n)
		}
		out = append(out, f)
	}
	return out
}

// unusedOf counts the atoms of hit that subject did not use through binding and,
// when only some were unused, returns them compacted (cached by bit set for roles
// of at most 64 pieces). reqs, when given, are the requests recorded for the grant.
func (e *Evaluator) unusedOf(hit *grantHit, binding ObjectRef, subject rbacv1.Subject, reqs []rbacv1.PolicyRule) (int, *unusedRules) {
	used := func(a rbacv1.PolicyRule) bool {
		if reqs != nil {
			return slices.ContainsFunc(reqs, func(r rbacv1.PolicyRule) bool { return CoversRequest(a, r) })
		}
		return e.usage.Used(binding, subject, a)
	}
	unused := e.atoms[:0]
	var mask uint64
	for i, a := range hit.atoms {
		if !used(a) {
			unused = append(unused, a)
			if i < 64 {
				mask |= 1 << i
			}
		}
	}
	e.atoms = unused[:0]
	n := len(unused)
	if n == 0 || n == len(hit.atoms) {
		return n, nil
	}
	if len(hit.atoms) <= 64 {
		if u := hit.partial[mask]; u != nil {
			return n, u
		}
	}
	rules := compactRules(unused)
	u := &unusedRules{rules: rules, text: describeRules(rules)}
	if len(hit.atoms) <= 64 {
		if hit.partial == nil {
			hit.partial = map[uint64]*unusedRules{}
		}
		hit.partial[mask] = u
	}
	return n, u
}

// SetUsage replaces the usage data (nil: none, so no UnusedPermission findings) and
// re-checks every binding. It reports whether the findings changed. Usage changes
// slowly, so callers coalesce updates rather than call this per audit event.
func (e *Evaluator) SetUsage(u Usage) bool {
	e.list.changed = false
	e.usage = u
	for _, ent := range e.objects {
		if ent.binding {
			e.refresh(ent)
		}
	}
	e.settleEscalations()
	e.list.flush()
	return e.list.changed
}

// CoversRequest reports whether rule covers one request as the audit log records it
// (one verb, and one resource or URL), as validation.Covers decides. Cheap necessary
// conditions reject most pairs first: usage checks ask it for every granted piece. A
// request lacking its verb, group or resource is covered by nothing here, where
// validation.Covers would accept it vacuously; audit intake never records one.
func CoversRequest(rule, req rbacv1.PolicyRule) bool {
	if !hasAllOrStar(rule.Verbs, req.Verbs) {
		return false
	}
	if len(req.NonResourceURLs) == 0 && (!hasAllOrStar(rule.APIGroups, req.APIGroups) || !mayCoverResources(rule.Resources, req.Resources)) {
		return false
	}
	ok, _ := validation.Covers([]rbacv1.PolicyRule{rule}, []rbacv1.PolicyRule{req})
	return ok
}

// hasAllOrStar: set holds "*" or every element of want.
func hasAllOrStar(set, want []string) bool {
	if slices.Contains(set, "*") {
		return true
	}
	for _, w := range want {
		if !slices.Contains(set, w) {
			return false
		}
	}
	return true
}

// mayCoverResources is false only when no resource of set can cover want: neither
// named nor matched by a wildcard ("*", or "*/sub" for a subresource).
func mayCoverResources(set, want []string) bool {
	if hasAllOrStar(set, want) {
		return true
	}
	return slices.ContainsFunc(set, func(s string) bool { return strings.HasPrefix(s, "*/") })
}
