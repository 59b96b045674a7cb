package drift

import (
	"slices"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Load replaces the whole live state with snap and evaluates it from scratch.
func (e *Evaluator) Load(snap *Snapshot) { e.load(snap, true) }

// load evaluates snap; without indexes the Evaluator answers Findings but cannot
// take changes, which is all a one-shot Evaluate needs.
func (e *Evaluator) load(snap *Snapshot, indexed bool) {
	e.namespaces = make(map[string]map[string]string, len(snap.Namespaces))
	e.nsSelected = make(map[string]bool, len(snap.Namespaces))
	e.byNS = make(map[string][]*entry, len(snap.Namespaces))
	e.grants = map[ObjectRef][]*entry{}
	e.aggr = newAggregation()
	e.esc = newEscalations(e.policy.enabled.Has(v1alpha1.GuardrailEscalationPath), len(e.ceil.effective) > 0)
	e.missing = map[ObjectRef][]Finding{}
	e.cache = newCaches()
	e.list = findingList{logFull: true} // nothing to log: reset starts the log afresh
	for i := range snap.Namespaces {
		ns := &snap.Namespaces[i]
		e.namespaces[ns.Name] = ns.Labels
		e.nsSelected[ns.Name] = e.scope.SelectsNamespace(ns.Name, ns.Labels)
	}
	// Only what kept admits gets an entry, so count first: a slab sized for the whole
	// cluster would hold its capacity for the Evaluator's life.
	keep, bindings := 0, 0
	for i := range snap.Roles {
		if e.kept(ObjectRef{KindRole, snap.Roles[i].Namespace, ""}) {
			keep++
		}
	}
	for i := range snap.RoleBindings {
		if e.kept(ObjectRef{KindRoleBinding, snap.RoleBindings[i].Namespace, ""}) {
			bindings++
		}
	}
	if e.scope.clusterScoped {
		bindings += len(snap.ClusterRoleBindings)
	}
	keep += bindings + len(snap.ClusterRoles)
	if indexed && e.usage != nil {
		// With usage every in-scope binding is indexed by the role it grants.
		e.grants = make(map[ObjectRef][]*entry, bindings)
	}
	slab := make([]entry, 0, keep)
	e.objects = make(map[ObjectRef]*entry, keep)
	for i := range snap.Roles {
		if r := &snap.Roles[i]; e.kept(ObjectRef{KindRole, r.Namespace, r.Name}) {
			slab = append(slab, roleEntry(KindRole, r.Namespace, r.Name, r.Labels, r.Rules, nil))
		}
	}
	for i := range snap.ClusterRoles {
		r := &snap.ClusterRoles[i]
		slab = append(slab, roleEntry(KindClusterRole, "", r.Name, r.Labels, r.Rules, r.AggregationRule))
	}
	for i := range snap.RoleBindings {
		if b := &snap.RoleBindings[i]; e.kept(ObjectRef{KindRoleBinding, b.Namespace, b.Name}) {
			slab = append(slab, bindingEntry(KindRoleBinding, b.Namespace, b.Name, b.Labels, &b.RoleRef, b.Subjects))
		}
	}
	if e.scope.clusterScoped {
		for i := range snap.ClusterRoleBindings {
			b := &snap.ClusterRoleBindings[i]
			slab = append(slab, bindingEntry(KindClusterRoleBinding, "", b.Name, b.Labels, &b.RoleRef, b.Subjects))
		}
	}
	for i := range slab {
		e.objects[slab[i].ref] = &slab[i]
	}
	// Later duplicates replace earlier ones, as successive Upserts would; only
	// entries still in the map are indexed.
	dups := len(e.objects) != len(slab)
	// Aggregated roles' rules and the default roles' subjects first: checks read them.
	for i := range slab {
		ent := &slab[i]
		if dups && e.objects[ent.ref] != ent {
			continue
		}
		ent.inScope = e.inScope(ent)
		if ent.ref.Kind == KindClusterRole {
			e.aggr.touch(nil, ent)
		} else if ent.binding {
			e.aggr.bind(nil, ent)
		}
	}
	e.aggr.reaggregate()
	total := 0
	e.loading = true
	for i := range slab {
		ent := &slab[i]
		if dups && e.objects[ent.ref] != ent {
			continue
		}
		if indexed {
			e.index(ent)
			e.indexGrant(ent)
		} else if ent.binding && ent.inScope {
			ent.reach = e.ceil.reached(ent.subjects, ent.ref.Namespace)
		}
		ent.findings = e.check(ent)
		total += len(ent.findings)
	}
	e.loading, e.loaded = false, nil
	paths := e.loadEscalations(slab, dups)
	for _, fs := range paths {
		total += len(fs)
	}
	for _, k := range e.nsDecl {
		for ns := range e.namespaces {
			e.refreshMissing(ObjectRef{k.kind, ns, k.name})
		}
	}
	for k := range e.roles {
		if k.kind == KindClusterRole {
			e.refreshMissing(ObjectRef{k.kind, "", k.name})
		}
	}
	for k := range e.bindings {
		if k.kind == KindClusterRoleBinding {
			e.refreshMissing(ObjectRef{k.kind, "", k.name})
		}
	}
	// Load builds the sorted list in one go below, so changes recorded meanwhile are moot.
	all := make([]*Finding, 0, total+len(e.missing))
	for i := range slab {
		if ent := &slab[i]; !dups || e.objects[ent.ref] == ent {
			for j := range ent.findings {
				all = append(all, &ent.findings[j])
			}
		}
	}
	for _, f := range e.missing {
		all = append(all, &f[0])
	}
	for _, fs := range paths {
		for j := range fs {
			all = append(all, &fs[j])
		}
	}
	e.list.reset(all)
}

// loadEscalations indexes the in-scope bindings for escalation paths and computes the
// finding of every subject; each returned slice is one subject's, kept in esc.found.
func (e *Evaluator) loadEscalations(slab []entry, dups bool) [][]Finding {
	if !e.esc.on {
		return nil
	}
	e.esc.loading = true
	n := 0
	for i := range slab {
		if slab[i].binding && slab[i].inScope {
			n++
		}
	}
	// Sized up front: growing these maps was a fifth of the load's allocation.
	e.esc.ids = make(map[subjectKey]*identity, n/4)
	e.esc.byRole = make(map[ObjectRef][]*entry, n/4)
	for i := range slab {
		if ent := &slab[i]; ent.binding && ent.inScope && (!dups || e.objects[ent.ref] == ent) {
			e.bindEscalation(nil, ent)
		}
	}
	e.esc.loading = false
	e.esc.sortBound()
	clear(e.esc.dirty)
	var out [][]Finding
	memo := newMemo()
	e.esc.memo = memo
	// Only a subject that steps, or has an Effective ceiling, is judged; sorted, since a
	// cycle makes what the memo keeps depend on the order of the walks.
	var judged []subjectKey
	for k, id := range e.esc.ids {
		if id.places.stepping() && e.ceil.effective[k] == nil {
			judged = append(judged, k)
		}
	}
	for k := range e.ceil.effective {
		judged = append(judged, k)
	}
	slices.SortFunc(judged, compareKeys)
	for _, k := range judged {
		if fs := e.judge(k, memo); fs != nil {
			e.esc.keep(k, nil, fs)
			out = append(out, fs)
		}
	}
	return out
}
