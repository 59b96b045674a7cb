package drift

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// A walk is memoized per identity and steps left: what it reaches, per guardrail, at
// the best place (cluster-wide first, then the fewest steps, then the first in the
// sorted order of places, identities and steps), with the path there. Subjects that
// step to the same identities share the work; the memo lives for one evaluation pass.
type walkMemo struct {
	from map[memoKey]reachSet
	sas  map[memoKey]reachSet // every ServiceAccount of a namespace ("*": of all)
}

type memoKey struct {
	who  subjectKey
	ns   string
	left int
}

type reachSet map[v1alpha1.GuardrailID]reachPath

type reachPath struct {
	where string
	depth int
	path  *pathNode // the steps taken; nil: the identity's own grant
	final boundRole // the binding and role that grant it at the end, when an identity's
}

// pathNode is one step of a path, or where it lands: an identity, a role, or any
// permission (label).
type pathNode struct {
	step  *placedStep // nil: a landing
	at    string      // where the step applies
	who   *subjectKey
	role  *entry
	label string
	next  *pathNode
}

func (m reachSet) offer(id v1alpha1.GuardrailID, p reachPath) {
	cur, ok := m[id]
	switch {
	case !ok:
	case p.where == "*" && cur.where != "*":
	case (p.where == "*") == (cur.where == "*") && p.depth < cur.depth:
	default:
		return
	}
	m[id] = p
}

func newMemo() *walkMemo { return &walkMemo{from: map[memoKey]reachSet{}, sas: map[memoKey]reachSet{}} }

// reachFrom is what identity t reaches with its own grants and up to left more steps.
func (e *Evaluator) reachFrom(memo *walkMemo, t subjectKey, left int) reachSet {
	key := memoKey{who: t, left: left}
	if r, ok := memo.from[key]; ok {
		return r
	}
	memo.from[key] = reachSet{} // a cycle back here within the bound adds nothing new
	res := reachSet{}
	sum := e.esc.placesOf(t)
	for _, g := range sum {
		for i, id := range catalogIDs {
			if g.guards&(1<<uint(i)) != 0 {
				b := g.guardBy[i]
				res.offer(id, reachPath{where: g.where, final: boundRole{b, b.esc.role}})
			}
		}
	}
	if left > 0 {
		for _, g := range sum {
			for i := range g.steps {
				e.stepReach(memo, res, &g.steps[i], g.where, left-1)
			}
		}
	}
	memo.from[key] = res
	return res
}

// catalogIDs lists the catalog in Set bit order.
var catalogIDs = guardrails.IDs()

// stepReach offers to res what one step reaches, then left more steps from there.
func (e *Evaluator) stepReach(memo *walkMemo, res reachSet, ps *placedStep, where string, left int) {
	to := e.leadsOf(ps, where, false)
	land := func(sub reachSet, n *pathNode) {
		head := &pathNode{step: ps, at: where, next: n}
		for id, p := range sub {
			p.path, p.depth = prepend(head, p.path), p.depth+1
			res.offer(id, p)
		}
	}
	if to.everySA {
		land(e.serviceAccounts(memo, where, left), nil)
	}
	for i := range to.who {
		land(e.reachFrom(memo, to.who[i], left), &pathNode{who: &to.who[i]})
	}
	if to.anyAt != "" {
		e.anyReach(res, ps, to.anyAt, to.label)
	}
	for _, r := range to.roles {
		n := &pathNode{step: ps, at: where, next: &pathNode{role: r}}
		for _, m := range e.guardHitAt(r, where != "*").matches {
			res.offer(m.ID, reachPath{where: where, depth: 1, path: n})
		}
	}
}

// leads is where one step leads: to identities, to any permission in a place, or to
// the roles it may bind.
type leads struct {
	everySA bool // every ServiceAccount of the place, not listed in who
	who     []subjectKey
	anyAt   string // any permission here ("*": cluster-wide); "": none
	label   string // what grants it, when not the step itself
	roles   []*entry
}

// leadsOf says where step ps at where leads; list lists every ServiceAccount of the
// place in who rather than setting everySA. Identities are sorted.
func (e *Evaluator) leadsOf(ps *placedStep, where string, list bool) leads {
	x := &e.esc
	var to leads
	switch s := ps.step; s.Kind {
	case guardrails.StepWorkload, guardrails.StepToken, guardrails.StepImpersonateServiceAccount, guardrails.StepNodesProxy:
		if s.Names == nil && !list {
			to.everySA = true
			break
		}
		for _, ns := range e.namespacesOf(where) {
			for _, sa := range sortedSubjects(x.sas[ns]) {
				if s.Names == nil || s.Allows(sa.name) {
					to.who = append(to.who, sa)
				}
			}
		}
	case guardrails.StepImpersonateUser, guardrails.StepImpersonateGroup:
		kind := rbacv1.UserKind
		if s.Kind == guardrails.StepImpersonateGroup {
			kind = rbacv1.GroupKind
			if s.Allows("system:masters") {
				to.anyAt, to.label = "*", "Group system:masters"
				break
			}
		}
		for w := range x.ids {
			if w.kind == kind && s.Allows(w.name) {
				to.who = append(to.who, w)
			}
		}
		slices.SortFunc(to.who, compareKeys)
	case guardrails.StepBind:
		if s.Names == nil {
			to.anyAt = where
			break
		}
		for _, n := range s.Names {
			for _, ref := range bindable(n, where) {
				if r := e.objects[ref]; r != nil {
					to.roles = append(to.roles, r)
				}
			}
		}
	case guardrails.StepEscalate:
		to.anyAt = where
	case guardrails.StepCSR:
		to.anyAt = "*"
	}
	return to
}

// anyReach offers every guardrail any permission at where matches.
func (e *Evaluator) anyReach(res reachSet, ps *placedStep, where, label string) {
	n := &pathNode{step: ps, at: where}
	if label != "" {
		n.next = &pathNode{label: label}
	}
	for _, m := range e.anyPermission(where != "*") {
		res.offer(m.ID, reachPath{where: where, depth: 1, path: n})
	}
}

// serviceAccounts is what every ServiceAccount of a namespace ("*": of all) reaches.
func (e *Evaluator) serviceAccounts(memo *walkMemo, ns string, left int) reachSet {
	key := memoKey{ns: ns, left: left}
	if r, ok := memo.sas[key]; ok {
		return r
	}
	res := reachSet{}
	if ns == "*" {
		for _, n := range e.namespacesOf("*") {
			for id, p := range e.serviceAccounts(memo, n, left) {
				res.offer(id, p)
			}
		}
	} else {
		for _, sa := range sortedSubjects(e.esc.sas[ns]) {
			who := sa
			for id, p := range e.reachFrom(memo, who, left) {
				p.path = &pathNode{who: &who, next: p.path}
				res.offer(id, p)
			}
		}
	}
	memo.sas[key] = res
	return res
}

func (e *Evaluator) namespacesOf(where string) []string {
	if where == "*" {
		return slices.Sorted(maps.Keys(e.esc.sas))
	}
	return []string{where}
}

// prepend puts head (a single node) before rest, copying head.
func prepend(head, rest *pathNode) *pathNode {
	n := *head
	if n.next == nil {
		n.next = rest
	} else {
		land := *n.next
		land.next = rest
		n.next = &land
	}
	return &n
}

// judge returns subject k's escalation findings: the path finding, and those of its
// Effective ceilings. It records where k's own steps go first, so that a change there
// re-judges k; whoever k steps to records its own when judged.
func (e *Evaluator) judge(k subjectKey, memo *walkMemo) []Finding {
	x := &e.esc
	e.forgetPaths(k)
	sum := x.placesOf(k)
	var out []Finding
	if sum.stepping() {
		e.recordSteps(k, sum)
		if x.paths {
			out = e.pathsOf(k, sum, memo)
		}
	}
	if e.ceil.effective[k] != nil {
		out = append(out, e.ceilingPaths(k)...)
	}
	return out
}

// stepping: some binding of the subject gives a step.
func (ps places) stepping() bool {
	return slices.ContainsFunc(ps, func(g *grantsAt) bool { return len(g.steps) > 0 })
}

// recordSteps notes in the reverse indexes where subject k's own steps go.
func (e *Evaluator) recordSteps(k subjectKey, sum places) {
	x := &e.esc
	w := x.wentOf(k)
	for _, g := range sum {
		for i := range g.steps {
			ps := &g.steps[i]
			switch s := ps.step; {
			case s.Names != nil && s.Kind == guardrails.StepBind:
				for _, n := range s.Names {
					for _, ref := range bindable(n, g.where) {
						addToSet(x.byRoleName, ref, k)
						w.roles = append(w.roles, ref)
					}
				}
			case s.Names != nil:
				e.recordNamed(k, ps, g.where)
			case s.Kind == guardrails.StepImpersonateUser || s.Kind == guardrails.StepImpersonateGroup:
				x.wide[k] = true
			case s.Kind == guardrails.StepWorkload || s.Kind == guardrails.StepToken ||
				s.Kind == guardrails.StepImpersonateServiceAccount || s.Kind == guardrails.StepNodesProxy:
				addToSet(x.byNamespace, g.where, k)
				w.nss = append(w.nss, g.where)
			}
		}
	}
}

// wentOf is what k's walk records, made when missing.
func (x *escalations) wentOf(k subjectKey) *wentThrough {
	if x.went[k] == nil {
		x.went[k] = &wentThrough{}
	}
	return x.went[k]
}

// bindable are the roles a bind step naming n at where may bind.
func bindable(n, where string) [2]ObjectRef {
	return [2]ObjectRef{{KindClusterRole, "", n}, {KindRole, nsOf(where), n}}
}

// pathsOf returns the escalation-path finding of subject k, whose places are sum, or
// nil: the guardrails its steps reach that its own grants do not.
func (e *Evaluator) pathsOf(k subjectKey, sum places, memo *walkMemo) []Finding {
	res := reachSet{}
	for _, g := range sum {
		for i := range g.steps {
			e.stepReach(memo, res, &g.steps[i], g.where, maxPathDepth-1)
		}
	}
	wide := sum.at("*")
	for id, p := range res {
		if id == v1alpha1.GuardrailEscalationPath || wide != nil && wide.guards.Has(id) || sum.at(p.where) != nil && sum.at(p.where).guards.Has(id) {
			delete(res, id)
		}
	}
	if len(res) == 0 {
		return nil
	}
	f := e.pathFinding(k, res)
	if e.policy.exemptSubject(v1alpha1.GuardrailEscalationPath, f.Object, f.Subjects[0]) {
		return nil
	}
	return []Finding{f}
}

// recordNamed notes the identities a named step goes to, so their changes re-judge k.
func (e *Evaluator) recordNamed(k subjectKey, ps *placedStep, where string) {
	x := &e.esc
	w := x.wentOf(k)
	switch ps.step.Kind {
	case guardrails.StepToken, guardrails.StepImpersonateServiceAccount:
		if where == "*" {
			// The named accounts of every namespace, those to come too: by namespace.
			addToSet(x.byNamespace, where, k)
			w.nss = append(w.nss, where)
			return
		}
		for _, n := range ps.step.Names {
			// By name, whether the account is bound yet or not.
			sa := subjectKey{kind: rbacv1.ServiceAccountKind, namespace: where, name: n}
			addToSet(x.through, sa, k)
			w.ids = append(w.ids, sa)
		}
	case guardrails.StepImpersonateUser, guardrails.StepImpersonateGroup:
		for _, n := range ps.step.Names {
			for _, kind := range []string{rbacv1.UserKind, rbacv1.GroupKind} {
				t := subjectKey{kind: kind, apiGroup: rbacv1.GroupName, name: n}
				addToSet(x.through, t, k)
				w.ids = append(w.ids, t)
			}
		}
	}
}

// forgetPaths drops what k's last walk recorded in the reverse indexes.
func (e *Evaluator) forgetPaths(k subjectKey) {
	x := &e.esc
	w := x.went[k]
	if w == nil {
		return
	}
	for _, t := range w.ids {
		removeFrom(x.through, t, k)
	}
	for _, ns := range w.nss {
		removeFrom(x.byNamespace, ns, k)
	}
	for _, r := range w.roles {
		removeFrom(x.byRoleName, r, k)
	}
	delete(x.wide, k)
	delete(x.went, k)
}

// pathFinding reports what subject k reaches, at the severity of the worst
// guardrail reached, with the path to it.
func (e *Evaluator) pathFinding(k subjectKey, res reachSet) Finding {
	ids := slices.Collect(maps.Keys(res))
	slices.SortFunc(ids, func(a, b v1alpha1.GuardrailID) int {
		return cmp.Or(cmpInt(sevRank(e.policy.severity[a]), sevRank(e.policy.severity[b])), strings.Compare(string(a), string(b)))
	})
	worst := res[ids[0]]
	s := subjectOf(k)
	var parts []string
	var first *entry
	for n := worst.path; n != nil; n = n.next {
		switch {
		case n.step != nil:
			if first == nil {
				first = n.step.by.binding
			}
			parts = append(parts, n.step.by.binding.ref.String(), stepText(n.step.step, n.at))
		case n.who != nil:
			parts = append(parts, describeSubject(subjectOf(*n.who)))
		case n.role != nil:
			parts = append(parts, n.role.ref.String())
		case n.label != "":
			parts = append(parts, n.label)
		}
	}
	if worst.final.binding != nil {
		parts = append(parts, worst.final.binding.ref.String(), worst.final.role.ref.String())
	}
	named := s
	for _, bs := range first.subjects {
		if keyOf(normalizeSubject(bs, first.ref.Namespace)) == k {
			named = bs
		}
	}
	others := ""
	if len(ids) > 1 {
		names := make([]string, len(ids)-1)
		for i, id := range ids[1:] {
			names[i] = string(id)
		}
		others = "; it also reaches " + strings.Join(names, ", ")
	}
	return Finding{Type: v1alpha1.FindingGuardrailViolation, Object: first.ref, Severity: e.policy.severity[ids[0]],
		Guardrail: v1alpha1.GuardrailEscalationPath, Subject: &s, Subjects: []rbacv1.Subject{named},
		text: fmt.Sprintf("%s violates %s: %s reaches %s in %s beyond its own grants: %s%s",
			first.ref, v1alpha1.GuardrailEscalationPath, describeSubject(s), ids[0], whereText(worst.where),
			strings.Join(parts, " -> "), others)}
}

// stepText names a step taken at where, as a path message shows it.
func stepText(s guardrails.Step, where string) string {
	t := fmt.Sprintf("%s in %s", s.Kind, whereText(where))
	if s.Names != nil {
		t += " (" + strings.Join(s.Names, ", ") + ")"
	}
	return t
}

// whereText names a place: a namespace, or every one.
func whereText(where string) string {
	if where == "*" {
		return "every namespace"
	}
	return "namespace " + where
}

func nsOf(where string) string {
	if where == "*" {
		return ""
	}
	return where
}

func subjectOf(k subjectKey) rbacv1.Subject {
	return rbacv1.Subject{Kind: k.kind, APIGroup: k.apiGroup, Namespace: k.namespace, Name: k.name}
}

func compareKeys(a, b subjectKey) int {
	return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name), strings.Compare(a.apiGroup, b.apiGroup))
}

func sortedSubjects(set map[subjectKey]bool) []subjectKey {
	out := slices.Collect(maps.Keys(set))
	slices.SortFunc(out, compareKeys)
	return out
}

func compareRefs(a, b ObjectRef) int {
	return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}

// stepsOf returns (cached by rules) the steps a role grants through one kind of binding.
func (e *Evaluator) stepsOf(role *entry, viaRB bool) []guardrails.Step {
	key := grantKey{e.ruleHash(role), viaRB || role.ref.Kind == KindRole}
	if hit := e.cache.steps[key]; hit != nil && rulesEqual(hit.rules, role.rules) {
		return hit.steps
	}
	hit := &stepHit{rules: role.rules, steps: guardrails.Steps(role.rules, key.viaRB)}
	e.cache.steps[key] = hit
	return hit.steps
}

// anyPermission is what "any permission" reaches, in a namespace or cluster-wide:
// the enabled guardrails that * on everything matches.
func (e *Evaluator) anyPermission(namespaced bool) []guardrails.Match {
	i := 0
	if namespaced {
		i = 1
	}
	if e.esc.any[i] == nil {
		all := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
		e.esc.any[i] = guardrails.MatchRole(all, e.policy.enabled.Without(v1alpha1.GuardrailWildcardAccess), namespaced)
	}
	return e.esc.any[i]
}
