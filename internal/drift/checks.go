package drift

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// The checks below are small pure functions over one live object and the compiled
// baseline; each returns the findings of one kind of departure.

// checkMissing: a declared object that should exist at ref does not.
func checkMissing(ref ObjectRef) Finding {
	return NewFinding(v1alpha1.FindingMissing, ref, ref.String()+" is declared by the baseline but does not exist")
}

// checkUnexpected: an in-scope object the baseline does not declare.
func checkUnexpected(ref ObjectRef) Finding {
	return Finding{Type: v1alpha1.FindingUnexpected, Object: ref, Severity: typeSeverity[v1alpha1.FindingUnexpected]}
}

// checkRoleRules compares a declared role with a live one, by aggregationRule for
// aggregated ClusterRoles and semantically by rules otherwise.
func checkRoleRules(d *desiredRole, ent *entry) []Finding {
	var out []Finding
	ref := ent.ref
	if d.agg != nil {
		if ent.agg == nil {
			return []Finding{NewFinding(v1alpha1.FindingRulesRemoved, ref, fmt.Sprintf(
				"%s has no aggregationRule; the baseline declares it aggregated from ClusterRoles matching %s",
				ref, strings.Join(selectorKeys(d.agg.ClusterRoleSelectors), " | ")))}
		}
		extra, missing := diffAggregation(d.agg, ent.agg)
		if len(extra) > 0 {
			out = append(out, NewFinding(v1alpha1.FindingRulesAdded, ref, fmt.Sprintf(
				"%s aggregationRule also selects ClusterRoles matching %s", ref, strings.Join(extra, " | "))))
		}
		if len(missing) > 0 {
			out = append(out, NewFinding(v1alpha1.FindingRulesRemoved, ref, fmt.Sprintf(
				"%s aggregationRule no longer selects ClusterRoles matching %s", ref, strings.Join(missing, " | "))))
		}
		return out
	}
	if ent.agg != nil && len(ent.agg.ClusterRoleSelectors) > 0 {
		// Its rules are written by the aggregation controller, so comparing them would
		// report whatever happens to be aggregated; the aggregationRule itself is the drift.
		return []Finding{NewFinding(v1alpha1.FindingRulesAdded, ref, fmt.Sprintf(
			"%s is aggregated (aggregationRule selects ClusterRoles matching %s) but the baseline declares plain rules",
			ref, strings.Join(selectorKeys(ent.agg.ClusterRoleSelectors), " | ")))}
	}
	added, removed := diffRules(d.in(ref.Namespace), ent.rules)
	if len(added) > 0 {
		f := NewFinding(v1alpha1.FindingRulesAdded, ref, ref.String()+" grants rules the baseline does not declare: "+describeRules(added))
		f.Rules = added
		out = append(out, f)
	}
	if len(removed) > 0 {
		f := NewFinding(v1alpha1.FindingRulesRemoved, ref, ref.String()+" lacks declared rules: "+describeRules(removed))
		f.Rules = removed
		out = append(out, f)
	}
	return out
}

// checkIneffective reports what a role's rules name in vain.
func checkIneffective(ent *entry) Finding {
	why := "a resource matches only *, itself, resource/subresource or */subresource, and a verb or API group only * or itself"
	if ent.ref.Kind == KindRole {
		why += "; a Role cannot grant cluster-scoped resources or non-resource URLs"
	}
	f := NewFinding(v1alpha1.FindingIneffectiveRule, ent.ref, fmt.Sprintf("%s has rules that grant nothing: %s (%s)",
		ent.ref, describeRules(ent.vain), why))
	f.Rules = ent.vain
	return f
}

// checkRoleGuardrails reports each enabled catalog rule the role's rules match (hit
// holds the matches of these rules). The violation is reported on the role only:
// bindings granting it are not repeated.
func checkRoleGuardrails(p *policy, ent *entry, hit *guardHit) []Finding {
	var out []Finding
	for i, m := range hit.matches {
		if p.exemptObject(m.ID, ent.ref) {
			continue
		}
		out = append(out, Finding{Type: v1alpha1.FindingGuardrailViolation, Object: ent.ref, Severity: guardrails.Lower(p.severity[m.ID], m.Lower),
			Guardrail: m.ID, Rules: m.Rules, text: ent.ref.String() + hit.texts[i]})
	}
	return out
}

// checkAggregation reports a ClusterRole labelled into admin, edit or view: what it
// adds reaches every subject bound to them.
func checkAggregation(p *policy, ent *entry, a *guardrails.Aggregation) []Finding {
	m, ok := guardrails.MatchAggregation(a, p.enabled)
	if !ok || p.exemptObject(m.ID, ent.ref) {
		return nil
	}
	r, _ := guardrails.Lookup(m.ID)
	return []Finding{{Type: v1alpha1.FindingGuardrailViolation, Object: ent.ref, Severity: guardrails.Lower(p.severity[m.ID], m.Lower),
		Guardrail: m.ID, Rules: m.Rules, Subjects: m.Subjects,
		text: fmt.Sprintf("%s violates guardrail %s (%s, %s): %s", ent.ref, m.ID, r.Title, r.Reference, m.Note)}}
}

// guardrailText is the message of a role guardrail match, after the object's name.
func guardrailText(m guardrails.Match) string {
	r, _ := guardrails.Lookup(m.ID)
	what := describeRules(m.Requests)
	if what == "" {
		what = describeRules(m.Rules)
	}
	return fmt.Sprintf(" violates guardrail %s (%s, %s): %s%s", m.ID, r.Title, r.Reference, what, note(m.Note))
}

func note(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

// checkBindingShape compares a declared binding with a live one: roleRef and subjects.
func checkBindingShape(d *v1alpha1.DesiredBinding, ent *entry) []Finding {
	var out []Finding
	ref := ent.ref
	if string(d.RoleRef.Kind) != ent.roleRef.Kind || d.RoleRef.Name != ent.roleRef.Name {
		out = append(out, NewFinding(v1alpha1.FindingRoleRefChanged, ref, fmt.Sprintf(
			"%s grants %s %s; the baseline declares %s %s", ref, ent.roleRef.Kind, ent.roleRef.Name, d.RoleRef.Kind, d.RoleRef.Name)))
	}
	added, removed := diffSubjects(d.Subjects, ent.subjects, ent.ref.Namespace)
	if len(added) > 0 {
		f := NewFinding(v1alpha1.FindingSubjectsAdded, ref, ref.String()+" names subjects the baseline does not declare: "+describeSubjects(added))
		f.Subjects = added
		out = append(out, f)
	}
	if len(removed) > 0 {
		f := NewFinding(v1alpha1.FindingSubjectsRemoved, ref, ref.String()+" lacks declared subjects: "+describeSubjects(removed))
		f.Subjects = removed
		out = append(out, f)
	}
	return out
}

// checkBindingGuardrails reports binding catalog rules (cluster-admin-binding,
// anonymous-binding) for the subjects no exception allows. role is the bound role,
// nil when it does not exist: the grade of a broad subject weighs what it grants.
func checkBindingGuardrails(p *policy, ent, role *entry) []Finding {
	var out []Finding
	b := guardrails.Binding{RoleRef: *ent.roleRef, Subjects: ent.subjects}
	if ent.ref.Kind == KindRoleBinding {
		b.Namespace = ent.ref.Namespace
	}
	if role != nil {
		b.Role, b.RoleFound = role.rules, true
	}
	for _, m := range guardrails.MatchBindings(&b, p.enabled) {
		var bad []rbacv1.Subject
		for _, s := range m.Subjects {
			n := normalizeSubject(s, ent.ref.Namespace)
			if !p.exemptSubject(m.ID, ent.ref, n) {
				bad = append(bad, n)
			}
		}
		if len(bad) == 0 {
			continue
		}
		r, _ := guardrails.Lookup(m.ID)
		out = append(out, Finding{Type: v1alpha1.FindingGuardrailViolation, Object: ent.ref, Severity: guardrails.Lower(p.severity[m.ID], m.Lower),
			Guardrail: m.ID, Subjects: bad,
			text: fmt.Sprintf("%s violates guardrail %s (%s, %s): grants %s %s to %s%s",
				ent.ref, m.ID, r.Title, r.Reference, ent.roleRef.Kind, ent.roleRef.Name, describeSubjects(bad), note(m.Note))})
	}
	return out
}
