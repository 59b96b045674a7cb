package drift

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// Escalation paths: a subject that can create pods in a namespace can run them as any
// ServiceAccount there, and so holds that account's permissions; so do ServiceAccount
// tokens, impersonation, bind and escalate, nodes/proxy and CSR approval, each leading
// to other identities (guardrails.Steps). For each subject of an in-scope binding the
// engine follows such steps from the subject's own bindings, up to maxPathDepth steps
// and never through an identity twice, and reports the guardrails reached that the
// subject's own grants do not reach, with the shortest path to the worst of them.
//
// Identities are the subjects the in-scope bindings name, as named: membership of
// the broad groups (system:authenticated, system:serviceaccounts...) is not followed,
// since the anonymous-binding guardrail reports their grants. Findings are kept per
// subject and recomputed when a binding naming it, a role it holds, or an identity
// its paths went through changes.
type escalations struct {
	on       bool
	at       map[subjectKey]map[string][]*entry  // in-scope bindings naming each subject, by place: a namespace, or "*"
	summary  map[subjectKey]map[string]*grantsAt // what they grant, by place
	byRole   map[ObjectRef][]*entry              // in-scope bindings by the role they grant
	sas      map[string]map[subjectKey]bool      // ServiceAccount subjects by namespace
	found    map[subjectKey][]Finding
	byObject map[ObjectRef]map[subjectKey]bool // the binding each finding is about
	// What each subject's last paths went through, so that a change there re-judges
	// it: identities, every ServiceAccount of a namespace ("*": of all), roles some
	// path may bind, and (wide) every user, group or identity.
	through     map[subjectKey]map[subjectKey]bool
	byNamespace map[string]map[subjectKey]bool
	byRoleName  map[ObjectRef]map[subjectKey]bool
	wide        map[subjectKey]bool
	went        map[subjectKey]*wentThrough
	dirty       map[subjectKey]bool
	loading     bool                  // Load indexes every binding, then summarizes each place once
	memo        *walkMemo             // what identities reach, kept between changes
	any         [2][]guardrails.Match // anyPermission, cluster-wide and in a namespace
}

// wentThrough is what one subject's paths recorded in the reverse indexes.
type wentThrough struct {
	ids   []subjectKey
	nss   []string
	roles []ObjectRef
}

// grantsAt is what one subject's bindings grant in one place.
type grantsAt struct {
	guards  guardrails.Set        // the guardrails their roles match there
	guardBy [maxCatalog]boundRole // by catalog position: the first binding (by name) granting it
	steps   []placedStep          // the steps they give, one per kind and names
}

type boundRole struct{ binding, role *entry }

type placedStep struct {
	step guardrails.Step
	by   boundRole
}

// maxCatalog bounds the catalog (a guardrails.Set is 64 bits; it holds 16 rules).
const maxCatalog = 32

// catalogIndex is each rule's position in the catalog, its bit in a guardrails.Set.
var catalogIndex = func() map[v1alpha1.GuardrailID]int {
	m := map[v1alpha1.GuardrailID]int{}
	for i, id := range guardrails.IDs() {
		m[id] = i
	}
	return m
}()

// maxPathDepth bounds the steps of a path: subject -> identity -> identity -> identity.
const maxPathDepth = 3

func newEscalations(on bool) escalations {
	return escalations{on: on, at: map[subjectKey]map[string][]*entry{},
		summary: map[subjectKey]map[string]*grantsAt{}, byRole: map[ObjectRef][]*entry{},
		sas: map[string]map[subjectKey]bool{}, found: map[subjectKey][]Finding{}, byObject: map[ObjectRef]map[subjectKey]bool{},
		through: map[subjectKey]map[subjectKey]bool{}, byNamespace: map[string]map[subjectKey]bool{},
		byRoleName: map[ObjectRef]map[subjectKey]bool{}, wide: map[subjectKey]bool{}, went: map[subjectKey]*wentThrough{},
		dirty: map[subjectKey]bool{}}
}

func addToSet[K, V comparable](m map[K]map[V]bool, k K, v V) {
	if m[k] == nil {
		m[k] = map[V]bool{}
	}
	m[k][v] = true
}

func removeFrom[K, V comparable](m map[K]map[V]bool, k K, v V) {
	delete(m[k], v)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// bindingSubjects are a binding's subjects as identities.
func bindingSubjects(b *entry) []subjectKey {
	out := make([]subjectKey, 0, len(b.subjects))
	for _, s := range b.subjects {
		out = append(out, keyOf(normalizeSubject(s, b.ref.Namespace)))
	}
	return out
}

func bindingWhere(b *entry) (where string, viaRB bool) {
	if b.ref.Kind == KindRoleBinding {
		return b.ref.Namespace, true
	}
	return "*", false
}

// bind records that binding old (nil when new) gives way to new (nil when deleted),
// updates what its subjects are granted there, and marks dirty the subjects whose
// paths it may change.
func (e *Evaluator) bindEscalation(old, new *entry) {
	x := &e.esc
	if old != nil {
		where, _ := bindingWhere(old)
		for _, k := range bindingSubjects(old) {
			m := x.at[k]
			i := slices.Index(m[where], old)
			if i < 0 {
				continue
			}
			m[where] = slices.Delete(m[where], i, i+1)
			if len(m[where]) == 0 {
				delete(m, where)
			}
			if len(m) == 0 {
				delete(x.at, k)
				if k.kind == rbacv1.ServiceAccountKind {
					removeFrom(x.sas, k.namespace, k)
				}
			}
			e.summarize(k, where)
			x.touch(k)
		}
		rk := old.grantKey()
		if i := slices.Index(x.byRole[rk], old); i >= 0 {
			x.byRole[rk] = slices.Delete(x.byRole[rk], i, i+1)
			if len(x.byRole[rk]) == 0 {
				delete(x.byRole, rk)
			}
		}
	}
	if new != nil && new.inScope {
		where, _ := bindingWhere(new)
		for _, k := range bindingSubjects(new) {
			m := x.at[k]
			if m == nil {
				x.appeared(k)
				m = map[string][]*entry{}
				x.at[k] = m
				if k.kind == rbacv1.ServiceAccountKind {
					addToSet(x.sas, k.namespace, k)
				}
			}
			if slices.Contains(m[where], new) {
				continue // named twice
			}
			m[where] = append(m[where], new)
			if !x.loading {
				e.summarize(k, where)
				x.touch(k)
			}
		}
		rk := new.grantKey()
		x.byRole[rk] = append(x.byRole[rk], new)
	}
}

// summarize recomputes what subject k's bindings grant at where.
func (e *Evaluator) summarize(k subjectKey, where string) {
	x := &e.esc
	bs := x.at[k][where]
	if len(bs) == 0 {
		if m := x.summary[k]; m != nil {
			delete(m, where)
			if len(m) == 0 {
				delete(x.summary, k)
			}
		}
		return
	}
	g := &grantsAt{}
	for _, b := range bs {
		role := e.objects[b.grantKey()]
		if role == nil {
			continue
		}
		_, viaRB := bindingWhere(b)
		by := boundRole{b, role}
		for _, m := range e.guardHitAt(role, viaRB).matches {
			g.guards = g.guards.With(m.ID)
			i := catalogIndex[m.ID]
			if cur := g.guardBy[i]; cur.binding == nil || compareRefs(b.ref, cur.binding.ref) < 0 {
				g.guardBy[i] = by
			}
		}
		for _, s := range e.stepsOf(role, viaRB) {
			i := slices.IndexFunc(g.steps, func(p placedStep) bool { return p.step.Kind == s.Kind && slices.Equal(p.step.Names, s.Names) })
			switch {
			case i < 0:
				g.steps = append(g.steps, placedStep{s, by})
			case compareRefs(b.ref, g.steps[i].by.binding.ref) < 0:
				g.steps[i].by = by
			}
		}
	}
	slices.SortFunc(g.steps, func(a, b placedStep) int {
		return cmpOr(cmpInt(int(a.step.Kind), int(b.step.Kind)), slices.Compare(a.step.Names, b.step.Names))
	})
	if x.summary[k] == nil {
		x.summary[k] = map[string]*grantsAt{}
	}
	x.summary[k][where] = g
}

// touch marks k dirty, and whoever steps to k (by name, as one of its namespace's
// ServiceAccounts, or as any user or group), and so on as far as a path reaches.
func (x *escalations) touch(k subjectKey) {
	level := []subjectKey{k}
	seen := map[subjectKey]bool{k: true}
	for depth := 0; len(level) > 0; depth++ {
		var next []subjectKey
		for _, t := range level {
			x.dirty[t] = true
			if depth == maxPathDepth {
				continue
			}
			add := func(s subjectKey) {
				if !seen[s] {
					seen[s] = true
					next = append(next, s)
				}
			}
			for s := range x.through[t] {
				add(s)
			}
			if t.kind == rbacv1.ServiceAccountKind {
				for _, ns := range []string{t.namespace, "*"} {
					for s := range x.byNamespace[ns] {
						add(s)
					}
				}
			} else {
				for s := range x.wide {
					add(s)
				}
			}
		}
		level = next
	}
}

// appeared: a new identity concerns who reached all of its kind or namespace.
func (x *escalations) appeared(k subjectKey) {
	for s := range x.wide {
		x.dirty[s] = true
	}
	if k.kind == rbacv1.ServiceAccountKind {
		for _, ns := range []string{k.namespace, "*"} {
			for s := range x.byNamespace[ns] {
				x.dirty[s] = true
			}
		}
	}
}

// roleChangedEscalation re-summarizes the holders of a role and marks dirty them and
// the subjects that may bind it.
func (e *Evaluator) roleChangedEscalation(ref ObjectRef) {
	x := &e.esc
	for _, b := range x.byRole[ref] {
		where, _ := bindingWhere(b)
		for _, k := range bindingSubjects(b) {
			e.summarize(k, where)
			x.touch(k)
		}
	}
	for s := range x.byRoleName[ref] {
		x.dirty[s] = true
	}
}

// settle recomputes the findings of dirty subjects, handing old and new to replace.
func (e *Evaluator) settleEscalations() {
	x := &e.esc
	if !x.on || len(x.dirty) == 0 {
		return
	}
	if x.memo == nil {
		x.memo = newMemo()
	}
	memo := x.memo
	// What a dirty identity reaches may have changed, and so may what its namespace's
	// ServiceAccounts reach; whoever steps to it is dirty too (touch).
	for k := range x.dirty {
		for left := 0; left <= maxPathDepth; left++ {
			delete(memo.from, memoKey{who: k, left: left})
			if k.kind == rbacv1.ServiceAccountKind {
				delete(memo.sas, memoKey{ns: k.namespace, left: left})
				delete(memo.sas, memoKey{ns: "*", left: left})
			}
		}
	}
	for k := range x.dirty {
		delete(x.dirty, k)
		old := x.found[k]
		now := e.pathsOf(k, memo)
		if findingsEqual(old, now) {
			continue
		}
		x.keep(k, old, now)
		e.list.replace(old, now)
	}
}

// keep stores subject k's findings, now replacing old, and indexes them by object.
func (x *escalations) keep(k subjectKey, old, now []Finding) {
	for i := range old {
		removeFrom(x.byObject, old[i].Object, k)
	}
	if now == nil {
		delete(x.found, k)
		return
	}
	x.found[k] = now
	for i := range now {
		addToSet(x.byObject, now[i].Object, k)
	}
}

// objectFindings appends the findings about the binding at ref.
func (x *escalations) objectFindings(out []Finding, ref ObjectRef) []Finding {
	for k := range x.byObject[ref] {
		for _, f := range x.found[k] {
			if f.Object == ref {
				out = append(out, f)
			}
		}
	}
	return out
}
