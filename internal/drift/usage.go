package drift

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// checkUnused: the pieces of the rules a binding grants one subject that the usage
// data never saw used through that binding. One advisory finding per (binding,
// subject) with unused pieces; roleRules nil (role missing) grants nothing.
func checkUnused(usage Usage, ent *entry, roleRules []rbacv1.PolicyRule) []Finding {
	granted := grantedRules(roleRules, ent.ref.Kind == KindRoleBinding)
	if len(granted) == 0 {
		return nil
	}
	var atoms []rbacv1.PolicyRule
	for _, r := range granted {
		atoms = append(atoms, validation.BreakdownRule(r)...)
	}
	var out []Finding
	seen := make(map[subjectKey]bool, len(ent.subjects))
	for _, s := range ent.subjects {
		s = normalizeSubject(s, ent.ref.Namespace)
		if seen[keyOf(s)] {
			continue
		}
		seen[keyOf(s)] = true
		var unused []rbacv1.PolicyRule
		for _, a := range atoms {
			if !usage.Used(ent.ref, s, a) {
				unused = append(unused, a)
			}
		}
		if len(unused) == 0 {
			continue
		}
		rules := compactRules(unused)
		f := newFinding(v1alpha1.FindingUnusedPermission, ent.ref, fmt.Sprintf(
			"%s did not use %d of the %d permissions %s grants through %s %s during the usage window: %s",
			describeSubject(s), len(unused), len(atoms), ent.ref, ent.roleRef.Kind, ent.roleRef.Name, describeRules(rules)))
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
