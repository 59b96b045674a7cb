package drift

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// Escalation paths: a subject that can create pods in a namespace can run them as any
// ServiceAccount there, and so holds that account's permissions; so do ServiceAccount
// tokens, impersonation, bind and escalate, nodes/proxy and CSR approval, each leading
// to other identities (guardrails.Steps). For each subject of an in-scope binding the
// engine follows such steps from the subject's own bindings, up to maxPathDepth steps
// (so a cycle ends), and reports the guardrails reached that the subject's own grants
// do not reach, with the shortest path to the worst of them (paths.go).
//
// Identities are the subjects the in-scope bindings name, as named: membership of
// the broad groups (system:authenticated, system:serviceaccounts...) is not followed,
// since the anonymous-binding guardrail reports their grants. Findings are kept per
// subject and recomputed when a binding naming it, a role it holds, or an identity
// its paths went through changes.
type escalations struct {
	on       bool                           // the indexes are kept: paths or an Effective ceiling need them
	paths    bool                           // the escalation-path guardrail is enabled
	bound    bool                           // identities keep their bindings: Effective ceilings need them
	ids      map[subjectKey]*identity       // the subjects in-scope bindings name
	byRole   map[ObjectRef][]*entry         // in-scope bindings by the role they grant
	sas      map[string]map[subjectKey]bool // ServiceAccount subjects by namespace
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
	loading     bool                  // Load indexes every binding and judges every subject after
	memo        *walkMemo             // what identities reach, kept between changes
	any         [2][]guardrails.Match // anyPermission, cluster-wide and in a namespace
	keys        []subjectKey          // subjectsOf's buffer
}

// wentThrough is what one subject's paths recorded in the reverse indexes.
type wentThrough struct {
	ids   []subjectKey
	nss   []string
	roles []ObjectRef
}

// places are one subject's grants by place, sorted ("*", cluster-wide, first): a
// slice, since most subjects are bound in one place.
type places []*grantsAt

// at is the subject's grants at where, or nil.
func (ps places) at(where string) *grantsAt {
	i, found := slices.BinarySearchFunc(ps, where, func(g *grantsAt, w string) int { return strings.Compare(g.where, w) })
	if !found {
		return nil
	}
	return ps[i]
}

// grantsAt is what one subject's bindings grant in one place.
type grantsAt struct {
	where    string             // a namespace, or "*": cluster-wide
	bindings []*entry           // the in-scope bindings naming the subject there
	count    [maxCatalog]int32  // bindings granting each guardrail (by catalog position)
	guards   guardrails.Set     // the guardrails their roles match there
	guardBy  [maxCatalog]*entry // by catalog position: the first binding (by name) granting it
	steps    []placedStep       // the steps they give, one per kind and names
}

type boundRole struct{ binding, role *entry }

type placedStep struct {
	step guardrails.Step
	by   boundRole
	n    int32 // bindings giving it
}

// maxCatalog bounds the catalog in a place's counts (TestCatalogFitsPlaces).
const maxCatalog = 16

// maxPathDepth bounds the steps of a path: subject -> identity -> identity -> identity.
const maxPathDepth = 3

// identity is what the engine keeps of one subject that in-scope bindings name: one
// lookup per subject of a binding finds it all.
type identity struct {
	n      int32    // in-scope bindings naming it
	places places   // those that grant a guardrail or a step, and what they grant, by place
	bound  []*entry // every in-scope binding naming it, sorted by name; only for Effective ceilings
}

func (x *escalations) placesOf(k subjectKey) places {
	if id := x.ids[k]; id != nil {
		return id.places
	}
	return nil
}

func (x *escalations) boundOf(k subjectKey) []*entry {
	if id := x.ids[k]; id != nil {
		return id.bound
	}
	return nil
}

func newEscalations(paths, ceilings bool) escalations {
	return escalations{on: paths || ceilings, paths: paths, bound: ceilings, ids: map[subjectKey]*identity{}, byRole: map[ObjectRef][]*entry{},
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
	if old != nil && old.esc != nil {
		where, _ := bindingWhere(old)
		for _, k := range x.subjectsOf(old) {
			id := x.ids[k]
			if id == nil {
				continue
			}
			e.unplace(id, where, old, old.esc)
			if x.bound {
				id.unbind(old)
			}
			if id.n--; id.n <= 0 {
				delete(x.ids, k)
				if k.kind == rbacv1.ServiceAccountKind {
					removeFrom(x.sas, k.namespace, k)
				}
			}
			x.touch(k)
		}
		old.esc = nil
		rk := old.grantKey()
		if i := slices.Index(x.byRole[rk], old); i >= 0 {
			x.byRole[rk] = slices.Delete(x.byRole[rk], i, i+1)
			if len(x.byRole[rk]) == 0 {
				delete(x.byRole, rk)
			}
		}
	}
	if new != nil && new.inScope {
		where, viaRB := bindingWhere(new)
		new.esc = e.contribOf(e.objects[new.grantKey()], viaRB)
		for _, k := range x.subjectsOf(new) {
			id := x.ids[k]
			if id == nil {
				id = &identity{}
				x.ids[k] = id
				if !x.loading {
					x.appeared(k)
				}
				if k.kind == rbacv1.ServiceAccountKind {
					addToSet(x.sas, k.namespace, k)
				}
			}
			id.n++
			e.emplace(id, where, new, new.esc)
			if x.bound {
				x.bindTo(id, new)
			}
			if !x.loading {
				x.touch(k)
			}
		}
		rk := new.grantKey()
		x.byRole[rk] = append(x.byRole[rk], new)
	}
}

// bindTo adds binding b to subject k's, kept sorted by name so that paths are found in
// one order however the bindings came.
func (x *escalations) bindTo(id *identity, b *entry) {
	if x.loading {
		id.bound = append(id.bound, b) // sorted once the load is done (sortBound)
		return
	}
	i, found := slices.BinarySearchFunc(id.bound, b.ref, func(e *entry, r ObjectRef) int { return compareRefs(e.ref, r) })
	if !found {
		id.bound = slices.Insert(id.bound, i, b)
	}
}

// sortBound sorts every subject's bindings, after a load appended them.
func (x *escalations) sortBound() {
	for _, id := range x.ids {
		slices.SortFunc(id.bound, func(a, b *entry) int { return compareRefs(a.ref, b.ref) })
		id.bound = slices.CompactFunc(id.bound, func(a, b *entry) bool { return a == b }) // named twice
	}
}

// unbind takes binding b out of the identity's bindings.
func (id *identity) unbind(b *entry) {
	if i := slices.Index(id.bound, b); i >= 0 {
		id.bound = slices.Delete(id.bound, i, i+1)
	}
}

// empty: the contribution grants no guardrail and no step, so the binding needs no
// place: most bindings, which keeps the summaries small.
func (c *contrib) empty() bool { return c == nil || c.guards == 0 && len(c.steps) == 0 }

// emplace puts binding b, contributing c, in the identity's place (once).
func (e *Evaluator) emplace(id *identity, where string, b *entry, c *contrib) {
	if c.empty() {
		return
	}
	g := id.place(where)
	if slices.Contains(g.bindings, b) {
		return // named twice
	}
	g.bindings = append(g.bindings, b)
	add(g, b, c)
}

// unplace takes binding b, which contributed c, out of the identity's place.
func (e *Evaluator) unplace(id *identity, where string, b *entry, c *contrib) {
	g := id.places.at(where)
	if g == nil || c.empty() {
		return
	}
	i := slices.Index(g.bindings, b)
	if i < 0 {
		return
	}
	g.bindings = slices.Delete(g.bindings, i, i+1)
	subtract(g, b, c)
	if len(g.bindings) == 0 {
		id.unplaceAt(where)
	}
}

// subjectsOf are a binding's subjects as identities, in a buffer the next call reuses.
func (x *escalations) subjectsOf(b *entry) []subjectKey {
	x.keys = x.keys[:0]
	for _, s := range b.subjects {
		x.keys = append(x.keys, keyOf(normalizeSubject(s, b.ref.Namespace)))
	}
	return x.keys
}

// contrib is what one binding adds to its subjects' place: what its role grants there.
type contrib struct {
	role   *entry
	guards guardrails.Set
	steps  []guardrails.Step
}

// contribOf is what role (nil: missing) grants through a RoleBinding (viaRB) or a
// ClusterRoleBinding; kept on the role entry, so the bindings of one role share it.
func (e *Evaluator) contribOf(role *entry, viaRB bool) *contrib {
	if role == nil {
		return &contrib{}
	}
	i := 0
	if viaRB {
		i = 1
	}
	if c := role.escFor[i]; c != nil {
		return c
	}
	c := &contrib{role: role}
	for _, m := range e.guardHitAt(role, viaRB).matches {
		c.guards = c.guards.With(m.ID)
	}
	c.steps = e.stepsOf(role, viaRB)
	role.escFor[i] = c
	return c
}

func bit(i int) guardrails.Set { return guardrails.Set(1) << uint(i) }

// place returns the identity's place at where, made when missing.
func (id *identity) place(where string) *grantsAt {
	i, found := slices.BinarySearchFunc(id.places, where, func(g *grantsAt, w string) int { return strings.Compare(g.where, w) })
	if !found {
		id.places = slices.Insert(id.places, i, &grantsAt{where: where})
	}
	return id.places[i]
}

// unplaceAt drops the identity's place at where.
func (id *identity) unplaceAt(where string) {
	if i := slices.IndexFunc(id.places, func(g *grantsAt) bool { return g.where == where }); i >= 0 {
		id.places = slices.Delete(id.places, i, i+1)
	}
}

func compareSteps(a, b guardrails.Step) int {
	return cmp.Or(cmpInt(int(a.Kind), int(b.Kind)), slices.Compare(a.Names, b.Names))
}

// add counts binding b's contribution c in place g: each guardrail and step with the
// first binding (by name) that gives it, for the path messages.
func add(g *grantsAt, b *entry, c *contrib) {
	by := boundRole{b, c.role}
	for i := range catalogIDs {
		if c.guards&bit(i) == 0 {
			continue
		}
		g.count[i]++
		g.guards |= bit(i)
		if cur := g.guardBy[i]; cur == nil || cur == b || compareRefs(b.ref, cur.ref) < 0 {
			g.guardBy[i] = b
		}
	}
	for _, st := range c.steps {
		j, found := slices.BinarySearchFunc(g.steps, st, func(p placedStep, t guardrails.Step) int { return compareSteps(p.step, t) })
		if !found {
			g.steps = slices.Insert(g.steps, j, placedStep{step: st, by: by, n: 1})
			continue
		}
		g.steps[j].n++
		if cur := g.steps[j].by.binding; cur == b || compareRefs(b.ref, cur.ref) < 0 {
			g.steps[j].by = by
		}
	}
}

// subtract takes binding b's contribution c out of place g (b is already out of the
// place's bindings), finding the next first binding where b was it.
func subtract(g *grantsAt, b *entry, c *contrib) {
	if c == nil {
		c = &contrib{}
	}
	rest := g.bindings
	for i := range catalogIDs {
		if c.guards&bit(i) == 0 {
			continue
		}
		if g.count[i]--; g.count[i] == 0 {
			g.guards &^= bit(i)
			g.guardBy[i] = nil
		} else if g.guardBy[i] == b {
			g.guardBy[i] = firstBy(rest, func(o *contrib) bool { return o.guards&bit(i) != 0 }).binding
		}
	}
	for _, st := range c.steps {
		j, found := slices.BinarySearchFunc(g.steps, st, func(p placedStep, t guardrails.Step) int { return compareSteps(p.step, t) })
		if !found {
			continue
		}
		if g.steps[j].n--; g.steps[j].n == 0 {
			g.steps = slices.Delete(g.steps, j, j+1)
		} else if g.steps[j].by.binding == b {
			g.steps[j].by = firstBy(rest, func(o *contrib) bool {
				return slices.ContainsFunc(o.steps, func(t guardrails.Step) bool { return compareSteps(t, st) == 0 })
			})
		}
	}
}

// firstBy is the first binding (by name) whose contribution has.
func firstBy(bs []*entry, has func(*contrib) bool) boundRole {
	var best boundRole
	for _, b := range bs {
		if b.esc != nil && has(b.esc) && (best.binding == nil || compareRefs(b.ref, best.binding.ref) < 0) {
			best = boundRole{b, b.esc.role}
		}
	}
	return best
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

// roleChangedEscalation swaps the contributions of a role's bindings and marks dirty them and
// the subjects that may bind it.
func (e *Evaluator) roleChangedEscalation(ref ObjectRef) {
	x := &e.esc
	role := e.objects[ref]
	// A role bound in every namespace names the same subjects many times: each is
	// touched once.
	touched := map[subjectKey]bool{}
	for _, b := range x.byRole[ref] {
		where, viaRB := bindingWhere(b)
		old, now := b.esc, e.contribOf(role, viaRB)
		keys := x.subjectsOf(b)
		for i, k := range keys {
			if slices.Contains(keys[:i], k) {
				continue // named twice, counted once
			}
			// Swap b's contribution, with b out of the running for first binding meanwhile.
			id := x.ids[k]
			b.esc = nil
			e.unplace(id, where, b, old)
			b.esc = now
			e.emplace(id, where, b, now)
			if !touched[k] {
				touched[k] = true
				x.touch(k)
			}
		}
		b.esc = now
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
		now := e.judge(k, memo)
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
