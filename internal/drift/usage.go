package drift

import (
	"strconv"

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

// checkUnused: the pieces of the rules a binding grants one subject that the usage
// data never saw used through that binding. One advisory finding per (binding,
// subject) with unused pieces.
func (e *Evaluator) checkUnused(ent, role *entry) []Finding {
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
		return nil
	}
	idx, _ := e.usage.(usageIndex)
	var out []Finding
	seen := make(map[subjectKey]bool, len(ent.subjects))
	for _, s := range ent.subjects {
		s = normalizeSubject(s, ent.ref.Namespace)
		if seen[keyOf(s)] {
			continue
		}
		seen[keyOf(s)] = true
		rules, text, n := hit.all, hit.text, len(hit.atoms)
		if idx == nil || idx.Any(ent.ref, s) {
			var unused []rbacv1.PolicyRule
			for _, a := range hit.atoms {
				if !e.usage.Used(ent.ref, s, a) {
					unused = append(unused, a)
				}
			}
			if len(unused) == 0 {
				continue
			}
			if len(unused) < len(hit.atoms) {
				rules = compactRules(unused)
				text, n = describeRules(rules), len(unused)
			}
		}
		f := newFinding(v1alpha1.FindingUnusedPermission, ent.ref, describeSubject(s)+" did not use "+strconv.Itoa(n)+
			" of the "+strconv.Itoa(len(hit.atoms))+" permissions "+ent.ref.String()+" grants through "+ent.roleRef.Kind+" "+
			ent.roleRef.Name+" during the usage window: "+text)
		subj := s
		f.Subject = &subj
		f.Rules = rules
		out = append(out, f)
	}
	return out
}

// SetUsage replaces the usage data (nil: none, so no UnusedPermission findings) and
// re-checks every binding. It reports whether the findings changed. Usage changes
// slowly, so callers coalesce updates rather than call this per audit event.
func (e *Evaluator) SetUsage(u Usage) bool {
	e.changed = false
	e.usage = u
	for _, ent := range e.objects {
		if ent.binding {
			e.refresh(ent)
		}
	}
	e.flush()
	return e.changed
}
