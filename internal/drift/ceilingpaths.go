package drift

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Effective ceilings: a ceiling with judge: Effective is checked also against what its
// subject holds through escalation paths (escalation.go): the grants of each identity
// a path leads to (and of that identity's implied groups), and any permission where a
// step grants anything (bind or escalate without names, CSR approval, impersonating
// system:masters). The walk starts from the subject and its implied groups, as the
// direct check does, and goes breadth first, so each identity is reached by its
// shortest path. Rules the subject's own grants already exceed the ceiling with are
// left to the direct finding. One finding per binding that opens a path, naming the
// first path that exceeds.

// hop is an identity a ceiling subject's walk reached, and how.
type hop struct {
	who   subjectKey
	first *entry   // the walker's binding the path starts with; nil for the walker
	parts []string // the path so far, as the message names it
}

// opening is what one binding's paths grant beyond the ceiling.
type opening struct {
	path    string
	rules   []rbacv1.PolicyRule
	offered map[*rbacv1.PolicyRule]bool // the beyond slices already in rules, by first element
}

// ceilingPaths returns the findings of subject k's Effective ceilings.
func (e *Evaluator) ceilingPaths(k subjectKey) []Finding {
	x := &e.esc
	starts := append([]subjectKey{k}, impliedKeys(k)...)
	w := x.wentOf(k)
	for _, g := range starts[1:] {
		// A group's steps are recorded by the group's own judgement; its bindings here.
		addToSet(x.through, g, k)
		w.ids = append(w.ids, g)
	}
	var out []Finding
	for _, ci := range e.ceil.effective[k] {
		out = append(out, e.ceilingPathsOf(ci, k, starts)...)
	}
	return out
}

func (e *Evaluator) ceilingPathsOf(ci int, k subjectKey, starts []subjectKey) []Finding {
	x := &e.esc
	c := &e.ceil.list[ci]
	var direct []rbacv1.PolicyRule
	hits := map[*ceilHit]bool{}
	for _, s := range starts {
		direct = e.boundBeyond(direct, hits, ci, s)
	}
	direct = compactRules(direct)
	opened := map[*entry]*opening{}
	var order []*entry
	// Many bindings share a role, so what is beyond is one cached slice per role:
	// what the direct grants leave of it is worked out once, and offered once per opening.
	left := map[*rbacv1.PolicyRule][]rbacv1.PolicyRule{}
	// offer adds what is beyond to the opening of h's path, which ends at binding b and
	// role r, or at label (any may be empty); named only when the opening is new.
	offer := func(h hop, beyond []rbacv1.PolicyRule, b, r *entry, label string) {
		if len(beyond) == 0 {
			return
		}
		key := &beyond[0]
		rest, done := left[key]
		if !done {
			rest = beyond
			if len(direct) > 0 {
				rest = uncovered(direct, beyond)
			}
			left[key] = rest
		}
		if len(rest) == 0 {
			return
		}
		o := opened[h.first]
		if o == nil {
			parts := slices.Clip(h.parts)
			for _, t := range []*entry{b, r} {
				if t != nil {
					parts = append(parts, t.ref.String())
				}
			}
			if label != "" {
				parts = append(parts, label)
			}
			o = &opening{path: strings.Join(parts, " -> "), offered: map[*rbacv1.PolicyRule]bool{}}
			opened[h.first] = o
			order = append(order, h.first)
		}
		if !o.offered[key] {
			o.offered[key] = true
			o.rules = append(o.rules, rest...)
		}
	}
	seen := map[subjectKey]bool{}
	level := make([]hop, 0, len(starts))
	for _, s := range starts {
		seen[s] = true
		level = append(level, hop{who: s})
	}
	for depth := 0; depth < maxPathDepth && len(level) > 0; depth++ {
		var next []hop
		for _, h := range level {
			for _, g := range x.placesOf(h.who) {
				for i := range g.steps {
					ps := &g.steps[i]
					step := hop{first: cmp.Or(h.first, ps.by.binding),
						parts: append(slices.Clip(h.parts), ps.by.binding.ref.String(), stepText(ps.step, g.where))}
					to := e.leadsOf(ps, g.where, true)
					if to.anyAt != "" {
						offer(step, uncovered(c.rules, anyRules(to.anyAt != "*")), nil, nil, cmp.Or(to.label, "any permission"))
					}
					for _, r := range to.roles {
						offer(step, uncovered(c.rules, grantedRules(r.rules, g.where != "*")), nil, r, "")
					}
					for _, t := range to.who {
						if seen[t] {
							continue
						}
						seen[t] = true
						th := hop{who: t, first: step.first, parts: append(slices.Clip(step.parts), describeSubject(subjectOf(t)))}
						for _, s := range append([]subjectKey{t}, impliedKeys(t)...) {
							if s != t && !x.through[s][k] {
								addToSet(x.through, s, k) // a reached identity's groups are not walked, only read
								x.went[k].ids = append(x.went[k].ids, s)
							}
							for _, b := range x.boundOf(s) {
								if role := e.objects[b.grantKey()]; role != nil {
									offer(th, e.beyond(ci, b, role).beyond, b, role, "")
								}
							}
						}
						next = append(next, th)
					}
				}
			}
		}
		level = next
	}
	out := make([]Finding, 0, len(order))
	for _, b := range order {
		o := opened[b]
		rules := compactRules(o.rules)
		text := describeSubject(c.subject) + " can exceed its ceiling through " + b.ref.String() + ": " + o.path +
			" grants " + describeRules(rules)
		out = append(out, Finding{Type: v1alpha1.FindingExceedsCeiling, Object: b.ref, Severity: typeSeverity[v1alpha1.FindingExceedsCeiling],
			Subject: &c.subject, Rules: rules, text: text})
	}
	return out
}

// boundBeyond appends what subject s's own in-scope bindings grant beyond ceiling ci,
// once per role's rules (hits).
func (e *Evaluator) boundBeyond(out []rbacv1.PolicyRule, hits map[*ceilHit]bool, ci int, s subjectKey) []rbacv1.PolicyRule {
	for _, b := range e.esc.boundOf(s) {
		if role := e.objects[b.grantKey()]; role != nil {
			if h := e.beyond(ci, b, role); !hits[h] {
				hits[h] = true
				out = append(out, h.beyond...)
			}
		}
	}
	return out
}

// anyRules is any permission, in a namespace or cluster-wide.
func anyRules(namespaced bool) []rbacv1.PolicyRule {
	all := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
	if !namespaced {
		all = append(all, rbacv1.PolicyRule{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}})
	}
	return all
}

func impliedKeys(k subjectKey) []subjectKey {
	var out []subjectKey
	for _, g := range impliedGroups(subjectOf(k)) {
		out = append(out, keyOf(g))
	}
	return out
}
