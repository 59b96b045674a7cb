package drift

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// ceiling is a compiled spec.subjects entry.
type ceiling struct {
	subject   rbacv1.Subject // normalized
	rules     []rbacv1.PolicyRule
	effective bool // judged on what escalation paths reach too (ceilingpaths.go)
}

// ceilings holds the compiled ceilings and, for every subject a binding may name,
// the ceilings it reaches: the subject itself and the groups it is implicitly in.
type ceilings struct {
	list      []ceiling
	by        map[subjectKey][]int
	effective map[subjectKey][]int // the Effective ceilings, by their subject
}

func compileCeilings(spec []v1alpha1.SubjectCeiling) ceilings {
	c := ceilings{by: map[subjectKey][]int{}, effective: map[subjectKey][]int{}}
	for i, sc := range spec {
		s := normalizeSubject(toRBACSubject(sc.Subject), "")
		eff := sc.Judge == v1alpha1.CeilingEffective
		c.list = append(c.list, ceiling{subject: s, rules: toRBACRules(sc.Rules), effective: eff})
		if eff {
			c.effective[keyOf(s)] = append(c.effective[keyOf(s)], i)
		}
		c.by[keyOf(s)] = append(c.by[keyOf(s)], i)
		for _, g := range impliedGroups(s) {
			c.by[keyOf(g)] = append(c.by[keyOf(g)], i)
		}
	}
	return c
}

// reach is a ceiling a binding reaches, and the binding subject through which.
type reach struct {
	ceiling int
	via     rbacv1.Subject
}

// reached returns, for a binding's subjects, the ceilings they reach, ordered by ceiling.
func (c *ceilings) reached(subjects []rbacv1.Subject, bindingNS string) []reach {
	if len(c.list) == 0 {
		return nil
	}
	var out []reach
	for _, s := range subjects {
		n := normalizeSubject(s, bindingNS)
		for _, i := range c.by[keyOf(n)] {
			if !slices.ContainsFunc(out, func(r reach) bool { return r.ceiling == i }) {
				out = append(out, reach{i, n})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b reach) int { return cmpInt(a.ceiling, b.ceiling) })
	return out
}

// grantedRules are the rules a binding grants through role: a RoleBinding cannot grant
// nonResourceURLs, which only mean something cluster-wide.
func grantedRules(role []rbacv1.PolicyRule, viaRoleBinding bool) []rbacv1.PolicyRule {
	if !viaRoleBinding {
		return role
	}
	out := make([]rbacv1.PolicyRule, 0, len(role))
	for _, r := range role {
		if len(r.NonResourceURLs) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// checkCeiling: the rules a binding grants its subject beyond the subject's ceiling,
// reached through the binding subject via. The message is derived on demand.
func checkCeiling(c *ceiling, via *rbacv1.Subject, ent *entry, hit *ceilHit) Finding {
	f := Finding{Type: v1alpha1.FindingExceedsCeiling, Object: ent.ref, Severity: typeSeverity[v1alpha1.FindingExceedsCeiling],
		Subject: &c.subject, Rules: hit.beyond, roleRef: ent.roleRef, rulesText: &hit.text}
	if keyOf(*via) != keyOf(c.subject) {
		f.via = via
	}
	return f
}
