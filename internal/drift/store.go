package drift

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// The object store: live entries, their namespace and grant indexes, and the
// re-checks a change of one object causes in others.

// entry is one live Role, ClusterRole, RoleBinding or ClusterRoleBinding. Its slices
// and maps point into the caller's object and are only read.
type entry struct {
	ref      ObjectRef
	labels   map[string]string
	rules    []rbacv1.PolicyRule // as the authorizer applies them (effectiveRules)
	vain     []rbacv1.PolicyRule // what the rules name in vain; nil almost always
	agg      *rbacv1.AggregationRule
	roleRef  *rbacv1.RoleRef
	subjects []rbacv1.Subject
	binding  bool
	broad    bool    // a subject stands for many identities (guardrails.Broad)
	reached  bool    // reach is set
	reach    []reach // ceilings the binding's subjects reach
	grantPos int32   // position in grants[grantKey()], -1 when not indexed
	nsPos    int32   // position in byNS[namespace], -1 for cluster-scoped
	inScope  bool
	hashed   bool   // hash is set
	hash     uint64 // content hash of rules
	findings []Finding
	esc      *contrib    // what a binding adds to its subjects' escalation summaries, while indexed
	escFor   [2]*contrib // a role's contribution through a ClusterRoleBinding and a RoleBinding
}

func roleEntry(kind, ns, name string, lbl map[string]string, rules []rbacv1.PolicyRule, agg *rbacv1.AggregationRule) entry {
	rules, vain := effectiveRules(kind, ns, rules)
	return entry{ref: ObjectRef{kind, ns, name}, labels: lbl, rules: rules, vain: vain, agg: agg, grantPos: -1, nsPos: -1}
}

func bindingEntry(kind, ns, name string, lbl map[string]string, roleRef *rbacv1.RoleRef, subjects []rbacv1.Subject) entry {
	return entry{ref: ObjectRef{kind, ns, name}, labels: lbl, roleRef: roleRef, subjects: subjects, binding: true,
		broad: slices.ContainsFunc(subjects, guardrails.Broad), grantPos: -1, nsPos: -1}
}

// grantKey is the role a binding grants.
func (ent *entry) grantKey() ObjectRef {
	k := ObjectRef{Kind: ent.roleRef.Kind, Name: ent.roleRef.Name}
	if ent.ref.Kind == KindRoleBinding && ent.roleRef.Kind == KindRole {
		k.Namespace = ent.ref.Namespace
	}
	return k
}

// kept reports whether the Evaluator keeps an object, so that its memory grows with
// the scope and not with the cluster: every ClusterRole (an in-scope RoleBinding may
// grant any), Roles and RoleBindings of selected namespaces, and ClusterRoleBindings
// when cluster-scoped objects are in scope. Any other object has no finding and is
// read by no in-scope binding (a RoleBinding grants only Roles of its namespace).
func (e *Evaluator) kept(ref ObjectRef) bool {
	switch ref.Kind {
	case KindClusterRole:
		return true
	case KindClusterRoleBinding:
		return e.scope.clusterScoped
	}
	selected, known := e.nsSelected[ref.Namespace]
	if !known {
		selected = e.scope.SelectsNamespace(ref.Namespace, nil)
	}
	return selected
}

func (e *Evaluator) inScope(ent *entry) bool {
	ns := ent.ref.Namespace
	selected := false
	if ns != "" {
		var known bool
		if selected, known = e.nsSelected[ns]; !known {
			selected = e.scope.SelectsNamespace(ns, nil)
		}
	}
	return e.scope.covers(ent.ref.Kind, ent.ref.Name, ent.labels, selected)
}

func (e *Evaluator) put(ent *entry) {
	if !e.kept(ent.ref) {
		return // no finding and nothing an in-scope binding reads; see kept
	}
	old := e.objects[ent.ref]
	if old != nil {
		e.unindex(old)
		ent.findings = old.findings
	}
	e.objects[ent.ref] = ent
	e.index(ent)
	var reaggregated []*entry
	if ent.ref.Kind == KindClusterRole && e.aggr.touch(old, ent) {
		reaggregated = e.aggr.reaggregate() // ent's own rules too, before it is checked
	}
	e.refresh(ent)
	if !ent.binding {
		e.roleChanged(ent.ref)
	}
	e.refreshAggregation(ent, reaggregated, ent.binding && e.aggr.bind(old, ent))
	if ent.binding && e.esc.on {
		e.bindEscalation(old, ent)
	}
	e.refreshMissing(ent.ref)
}

// delete is Delete without flushing the pending changes to the sorted list.
func (e *Evaluator) delete(ref ObjectRef) {
	switch ref.Kind {
	case KindNamespace:
		e.putNamespace(ref.Name, nil, false)
		return
	case KindServiceAccount:
		return
	}
	old := e.objects[ref]
	if old == nil {
		return
	}
	e.unindex(old)
	delete(e.objects, ref)
	e.rec.record(ref, old.findings)
	e.list.replace(old.findings, nil)
	old.findings = nil // gone from the sorted list; a Preview's undo may put old back
	if !old.binding {
		e.roleChanged(ref)
	}
	e.aggregationChanged(old, nil)
	if old.binding && e.esc.on {
		e.bindEscalation(old, nil)
	}
	e.refreshMissing(ref)
}

func (e *Evaluator) putNamespace(name string, lbl map[string]string, exists bool) {
	oldLabels, existed := e.namespaces[name]
	before := e.scope.SelectsNamespace(name, oldLabels)
	if exists {
		e.namespaces[name] = lbl
		e.nsSelected[name] = e.scope.SelectsNamespace(name, lbl)
	} else {
		delete(e.namespaces, name)
		delete(e.nsSelected, name)
	}
	if after := e.scope.SelectsNamespace(name, lbl); after != before {
		if after {
			// Its objects were not kept: the caller feeds them (NeedNamespaces).
			e.needNS = append(e.needNS, name)
		} else {
			for _, ent := range slices.Clone(e.byNS[name]) {
				e.delete(ent.ref)
			}
		}
	}
	if existed != exists || before != e.scope.SelectsNamespace(name, lbl) {
		for _, k := range e.nsDecl {
			e.refreshMissing(ObjectRef{k.kind, name, k.name})
		}
	}
}

// roleChanged re-checks the bindings that grant a role to ceiling subjects: the only
// other objects whose findings read it.
func (e *Evaluator) roleChanged(ref ObjectRef) {
	e.cache.trim(4096 + 2*len(e.objects))
	if e.esc.on {
		e.roleChangedEscalation(ref)
	}
	// Backwards: a binding that left the scope removes itself from this very list by
	// swapping the last one into its place, and the last one was already refreshed.
	bs := e.grants[ref]
	for i := len(bs) - 1; i >= 0; i-- {
		e.refresh(bs[i])
	}
}

// aggregationChanged follows a deleted object's effect on aggregated roles and on
// the subjects of the default roles.
func (e *Evaluator) aggregationChanged(old, new *entry) {
	switch {
	case old.ref.Kind == KindClusterRole && e.aggr.touch(old, new):
		e.refreshAggregation(nil, e.aggr.reaggregate(), true)
	case old.binding:
		e.refreshAggregation(nil, nil, e.aggr.bind(old, new))
	}
}

// refreshAggregation re-checks the aggregated roles whose rules changed and the
// bindings granting them, and, when feeders is true, every ClusterRole labelled into
// a default role. done was checked already.
func (e *Evaluator) refreshAggregation(done *entry, reaggregated []*entry, feeders bool) {
	for _, r := range reaggregated {
		if r != done {
			e.refresh(r)
			e.roleChanged(r.ref)
		}
	}
	if feeders || len(reaggregated) > 0 {
		for _, f := range e.aggr.feeders {
			if f != done {
				e.refresh(f)
			}
		}
	}
}

// index adds ent to the namespace and grant indexes.
func (e *Evaluator) index(ent *entry) {
	if ent.ref.Namespace != "" {
		ent.nsPos = int32(len(e.byNS[ent.ref.Namespace]))
		e.byNS[ent.ref.Namespace] = append(e.byNS[ent.ref.Namespace], ent)
	}
}

// indexGrant adds an in-scope binding that reaches a ceiling, or names a broad
// subject (its guardrail's grade weighs the role), to the grant index, or any
// in-scope binding when usage is set (its unused permissions read its role); and
// removes a binding that left the scope. Out-of-scope bindings have no findings, so a
// change of their role concerns nobody.
func (e *Evaluator) indexGrant(ent *entry) {
	if !ent.binding || (len(e.ceil.list) == 0 && e.usage == nil && !ent.broad) {
		return
	}
	if !ent.inScope {
		e.unindexGrant(ent)
		return
	}
	if ent.grantPos >= 0 {
		return
	}
	if !ent.reached {
		ent.reach = e.ceil.reached(ent.subjects, ent.ref.Namespace)
		ent.reached = true
	}
	if len(ent.reach) == 0 && e.usage == nil && !ent.broad {
		return
	}
	k := ent.grantKey()
	list := e.grants[k]
	ent.grantPos = int32(len(list))
	e.grants[k] = append(list, ent)
}

func (e *Evaluator) unindexGrant(ent *entry) {
	if ent.grantPos >= 0 {
		k := ent.grantKey()
		e.grants[k] = swapRemove(e.grants[k], ent.grantPos, func(m *entry, p int32) { m.grantPos = p })
		if len(e.grants[k]) == 0 {
			delete(e.grants, k)
		}
		ent.grantPos = -1
	}
}

// unindex removes ent from the indexes by swapping the last element into its place.
func (e *Evaluator) unindex(ent *entry) {
	if ent.nsPos >= 0 {
		e.byNS[ent.ref.Namespace] = swapRemove(e.byNS[ent.ref.Namespace], ent.nsPos, func(m *entry, p int32) { m.nsPos = p })
		if len(e.byNS[ent.ref.Namespace]) == 0 {
			delete(e.byNS, ent.ref.Namespace)
		}
		ent.nsPos = -1
	}
	e.unindexGrant(ent)
}

func swapRemove(s []*entry, i int32, setPos func(*entry, int32)) []*entry {
	last := int32(len(s) - 1)
	if i != last {
		s[i] = s[last]
		setPos(s[i], i)
	}
	s[last] = nil
	return s[:last]
}

// refreshMissing sets or clears the Missing finding of a declared object at ref.
func (e *Evaluator) refreshMissing(ref ObjectRef) {
	k := declKey{ref.Kind, ref.Name}
	isDeclared := e.roles[k].at(ref.Namespace) != nil || e.bindings[k].at(ref.Namespace) != nil
	want := isDeclared && e.objects[ref] == nil && e.expected(ref)
	old, had := e.missing[ref]
	switch {
	case want && !had:
		f := []Finding{checkMissing(ref)}
		e.missing[ref] = f
		e.list.replace(nil, f)
	case !want && had:
		delete(e.missing, ref)
		e.list.replace(old, nil)
	}
}

// expected: a namespaced declaration is expected in every existing namespace the scope
// selects (a namespace listed by name that does not exist yet expects nothing), a
// cluster-scoped one when cluster-scoped objects are in scope.
func (e *Evaluator) expected(ref ObjectRef) bool {
	switch ref.Kind {
	case KindRole, KindRoleBinding:
		lbl, ok := e.namespaces[ref.Namespace]
		return ok && e.scope.expects(ref.Kind, ref.Namespace, ref.Name, lbl)
	case KindClusterRole, KindClusterRoleBinding:
		return ref.Namespace == "" && e.scope.expects(ref.Kind, "", ref.Name, nil)
	}
	return false
}
