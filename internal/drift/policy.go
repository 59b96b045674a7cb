package drift

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// policy is the compiled spec.guardrails: which catalog rules apply, at which
// severity, and the exceptions.
type policy struct {
	enabled    guardrails.Set
	severity   map[v1alpha1.GuardrailID]v1alpha1.Severity
	exceptions []exception
}

type exception struct {
	ids      guardrails.Set // 0: every guardrail
	subjects map[subjectKey]bool
	kind     string
	ns       string
	name     string
}

func compilePolicy(g *v1alpha1.Guardrails) policy {
	p := policy{severity: map[v1alpha1.GuardrailID]v1alpha1.Severity{}}
	if g.Set != v1alpha1.GuardrailSetNone {
		p.enabled = guardrails.All()
	}
	for _, r := range guardrails.Catalog() {
		p.severity[r.ID] = r.Severity
	}
	for _, r := range g.Rules {
		if r.Enabled != nil {
			if *r.Enabled {
				p.enabled = p.enabled.With(r.ID)
			} else {
				p.enabled = p.enabled.Without(r.ID)
			}
		} else if g.Set == v1alpha1.GuardrailSetNone {
			// Listing a rule under set None turns it on.
			p.enabled = p.enabled.With(r.ID)
		}
		if r.Severity != "" {
			p.severity[r.ID] = r.Severity
		}
	}
	for _, e := range g.Exceptions {
		x := exception{ids: guardrails.SetOf(e.Guardrails...), kind: e.Kind, ns: e.Namespace, name: e.Name}
		if len(e.Subjects) > 0 {
			x.subjects = map[subjectKey]bool{}
			for _, s := range e.Subjects {
				x.subjects[keyOf(normalizeSubject(toRBACSubject(s), ""))] = true
			}
		}
		p.exceptions = append(p.exceptions, x)
	}
	return p
}

// objectMatches reports whether every object field the exception sets matches.
func (x *exception) objectMatches(id v1alpha1.GuardrailID, ref ObjectRef) bool {
	return (x.ids == 0 || x.ids.Has(id)) && (x.kind == "" || x.kind == ref.Kind) &&
		(x.ns == "" || x.ns == ref.Namespace) && (x.name == "" || x.name == ref.Name)
}

// exemptObject reports whether an exception without subjects allows the guardrail on ref.
func (p *policy) exemptObject(id v1alpha1.GuardrailID, ref ObjectRef) bool {
	for i := range p.exceptions {
		x := &p.exceptions[i]
		if x.subjects == nil && x.objectMatches(id, ref) {
			return true
		}
	}
	return false
}

// exemptSubject reports whether an exception allows the guardrail for subject s (already
// normalized) on ref.
func (p *policy) exemptSubject(id v1alpha1.GuardrailID, ref ObjectRef, s rbacv1.Subject) bool {
	for i := range p.exceptions {
		x := &p.exceptions[i]
		if x.objectMatches(id, ref) && (x.subjects == nil || x.subjects[keyOf(s)]) {
			return true
		}
	}
	return false
}
