package drift

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// Evaluator keeps the findings of one baseline up to date as live objects change.
// It caches each object's findings and an index from roles to the bindings that grant
// them to ceiling subjects, so a change recomputes only the changed object, the
// bindings of a changed role, or the objects of a namespace whose selection changed.
// Load followed by any sequence of Upsert and Delete yields the same findings as
// Evaluate on the resulting snapshot. An Evaluator is not safe for concurrent use.
type Evaluator struct {
	spec     *v1alpha1.RoleBaselineSpec
	scope    *Scope
	policy   policy
	report   bool
	roles    map[declKey]*declared[desiredRole]
	bindings map[declKey]*declared[v1alpha1.DesiredBinding]
	nsDecl   []declKey // declared Roles and RoleBindings, expected in selected namespaces
	ceil     ceilings
	usage    Usage

	namespaces map[string]map[string]string // existing namespaces and their labels
	nsSelected map[string]bool              // whether the scope selects each existing namespace
	objects    map[ObjectRef]*entry
	byNS       map[string][]*entry
	grants     map[ObjectRef][]*entry  // role -> bindings granting it to a ceiling subject
	aggr       aggregation             // aggregated ClusterRoles and what feeds them
	missing    map[ObjectRef][]Finding // one-element slices, so sorted can point into them
	cache      caches
	scratch    []Finding // check's buffer
	arena      []Finding // findings checked while previewing, reused by the next Preview
	proposed   entry     // the object a Preview puts in, until its undo takes it out
	loaded     []Finding // the chunk Load is filling
	loading    bool
	atoms      []rbacv1.PolicyRule // appendUnused's buffer
	sorted     []*Finding          // every finding, in CompareFindings order; points into entries and missing
	pendingDel []*Finding          // findings leaving sorted at the next flush
	pendingAdd []*Finding          // findings entering sorted at the next flush
	counts     v1alpha1.FindingCounts
	changed    bool
	// log holds the findings that entered and left since the last Changes; logFull
	// says it overflowed (or a Load happened) and the caller must start afresh.
	logAdded, logRemoved []Finding
	logFull              bool
	// needNS are namespaces the scope started selecting, whose objects the caller
	// must Upsert (NeedNamespaces).
	needNS []string
	// recording serves Preview: the findings each object had before the previewed
	// change (while previewing), put back by its undo (while restoring) without
	// checking the object again. A slice, reused: a change touches few objects.
	recording             []recordedFindings
	recordIndex           map[ObjectRef]int // past recordScan entries (a role many bindings grant)
	previewing, restoring bool
}

type desiredRole struct {
	rules []rbacv1.PolicyRule
	agg   *rbacv1.AggregationRule
	// perNamespace: a Role rule names Namespaces by resourceNames, so what it grants
	// depends on the namespace it is in (effectiveRules); raw are its rules as declared.
	perNamespace bool
	raw          []rbacv1.PolicyRule
}

// in returns the desired rules for a Role in namespace ns.
func (d *desiredRole) in(ns string) []rbacv1.PolicyRule {
	if !d.perNamespace {
		return d.rules
	}
	rules, _ := effectiveRules(KindRole, ns, d.raw)
	return rules
}

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
}

// NewEvaluator compiles a baseline spec. usage may be nil. The spec is copied.
func NewEvaluator(spec *v1alpha1.RoleBaselineSpec, usage Usage) (*Evaluator, error) {
	spec = spec.DeepCopy()
	scope, err := CompileScope(spec)
	if err != nil {
		return nil, err
	}
	e := &Evaluator{
		spec:     spec,
		scope:    scope,
		policy:   compilePolicy(&spec.Guardrails),
		report:   spec.Unmanaged == v1alpha1.UnmanagedReport || spec.Unmanaged == v1alpha1.UnmanagedRemove,
		roles:    map[declKey]*declared[desiredRole]{},
		bindings: map[declKey]*declared[v1alpha1.DesiredBinding]{},
		ceil:     compileCeilings(spec.Subjects),
		usage:    usage,
	}
	for i := range spec.Roles {
		r := &spec.Roles[i]
		d := &desiredRole{}
		d.raw = toRBACRules(r.Rules)
		d.rules, _ = effectiveRules(string(r.Kind), "", d.raw)
		d.perNamespace = r.Kind == v1alpha1.KindRole && namesOwnNamespace(d.raw)
		if r.AggregationRule != nil {
			d.agg = &rbacv1.AggregationRule{ClusterRoleSelectors: r.AggregationRule.ClusterRoleSelectors}
		}
		k := declKey{string(r.Kind), r.Name}
		if declare(e.roles, k, r.Namespaces, d) && r.Kind == v1alpha1.KindRole {
			e.nsDecl = append(e.nsDecl, k)
		}
	}
	for i := range spec.Bindings {
		b := &spec.Bindings[i]
		k := declKey{string(b.Kind), b.Name}
		if declare(e.bindings, k, b.Namespaces, b) && b.Kind == v1alpha1.KindRoleBinding {
			e.nsDecl = append(e.nsDecl, k)
		}
	}
	e.Load(&Snapshot{})
	return e, nil
}

// Scope returns the compiled scope of the baseline.
func (e *Evaluator) Scope() *Scope { return e.scope }

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

// NeedNamespaces returns, once, the namespaces the scope started selecting since the
// last call. Their Roles and RoleBindings were not kept: Upsert each of them, or
// Findings will lack theirs (and report declared ones Missing).
func (e *Evaluator) NeedNamespaces() []string {
	out := e.needNS
	e.needNS = nil
	return out
}

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
	e.missing = map[ObjectRef][]Finding{}
	e.cache = newCaches()
	e.sorted = nil
	e.counts = v1alpha1.FindingCounts{}
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
	e.pendingDel, e.pendingAdd = nil, nil
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
	sortFindings(all)
	e.sorted = all
	e.counts = v1alpha1.FindingCounts{}
	for i := 0; i < len(all); { // sorted, so each type comes in runs
		j := i + 1
		for j < len(all) && all[j].Type == all[i].Type {
			j++
		}
		addCount(&e.counts, all[i].Type, int32(j-i))
		i = j
	}
	e.changed = false
	e.logAdded, e.logRemoved, e.logFull = nil, nil, true
}

func roleEntry(kind, ns, name string, lbl map[string]string, rules []rbacv1.PolicyRule, agg *rbacv1.AggregationRule) entry {
	rules, vain := effectiveRules(kind, ns, rules)
	return entry{ref: ObjectRef{kind, ns, name}, labels: lbl, rules: rules, vain: vain, agg: agg, grantPos: -1, nsPos: -1}
}

// grantKey is the role a binding grants.
func (ent *entry) grantKey() ObjectRef {
	k := ObjectRef{Kind: ent.roleRef.Kind, Name: ent.roleRef.Name}
	if ent.ref.Kind == KindRoleBinding && ent.roleRef.Kind == KindRole {
		k.Namespace = ent.ref.Namespace
	}
	return k
}

func bindingEntry(kind, ns, name string, lbl map[string]string, roleRef *rbacv1.RoleRef, subjects []rbacv1.Subject) entry {
	return entry{ref: ObjectRef{kind, ns, name}, labels: lbl, roleRef: roleRef, subjects: subjects, binding: true,
		broad: slices.ContainsFunc(subjects, guardrails.Broad), grantPos: -1, nsPos: -1}
}

// Findings returns the current findings, sorted by CompareFindings. The slice is a
// copy; the rules and subjects in it are shared and must not be modified.
func (e *Evaluator) Findings() []Finding { return deref(e.sorted) }

// ObjectFindings returns the current findings about one object (Missing included), in
// CompareFindings order: what Enforce mode reverts when that object changes. The slice
// is a copy; the rules and subjects in it are shared and must not be modified.
func (e *Evaluator) ObjectFindings(ref ObjectRef) []Finding {
	var out []Finding
	if ent := e.objects[ref]; ent != nil {
		out = append(out, ent.findings...)
	}
	out = append(out, e.missing[ref]...)
	slices.SortFunc(out, func(a, b Finding) int { return CompareFindings(&a, &b) })
	return out
}

func deref(fs []*Finding) []Finding {
	out := make([]Finding, len(fs))
	for i, f := range fs {
		out[i] = *f
	}
	return out
}

// Len returns the number of current findings.
func (e *Evaluator) Len() int { return len(e.sorted) }

// Top returns the first n findings in API form and how many were left out, ready for status.
func (e *Evaluator) Top(n int) ([]v1alpha1.Finding, int32) {
	n = max(0, min(n, len(e.sorted)))
	out := make([]v1alpha1.Finding, n)
	for i := range out {
		out[i] = e.sorted[i].ToAPI()
	}
	return out, int32(len(e.sorted) - n)
}

// Counts sums the current findings by type.
func (e *Evaluator) Counts() v1alpha1.FindingCounts {
	c := e.counts
	c.ByType = maps.Clone(c.ByType)
	return c
}

// Upsert adds or replaces a live object: *rbacv1.Role, *rbacv1.ClusterRole,
// *rbacv1.RoleBinding, *rbacv1.ClusterRoleBinding, *corev1.Namespace or
// *corev1.ServiceAccount. It reports whether the findings changed. The object is
// kept by reference and must not be modified afterwards (informer cache objects are
// never modified, so they can be passed as they are).
func (e *Evaluator) Upsert(obj runtime.Object) (bool, error) {
	e.changed = false
	if err := e.upsert(obj); err != nil {
		return false, err
	}
	e.flush()
	return e.changed, nil
}

// upsert is Upsert without flushing the pending changes to the sorted list.
func (e *Evaluator) upsert(obj runtime.Object) error {
	switch t := obj.(type) {
	case *corev1.Namespace:
		e.putNamespace(t.Name, t.Labels, true)
	case *corev1.ServiceAccount:
		// No check reads ServiceAccounts yet.
	default:
		ent, ok := entryOf(obj)
		if !ok {
			return fmt.Errorf("drift: cannot evaluate object of type %T", obj)
		}
		e.put(&ent)
	}
	return nil
}

// entryOf makes the entry of an RBAC object; false for any other type.
func entryOf(obj runtime.Object) (entry, bool) {
	switch t := obj.(type) {
	case *rbacv1.Role:
		return roleEntry(KindRole, t.Namespace, t.Name, t.Labels, t.Rules, nil), true
	case *rbacv1.ClusterRole:
		return roleEntry(KindClusterRole, "", t.Name, t.Labels, t.Rules, t.AggregationRule), true
	case *rbacv1.RoleBinding:
		return bindingEntry(KindRoleBinding, t.Namespace, t.Name, t.Labels, &t.RoleRef, t.Subjects), true
	case *rbacv1.ClusterRoleBinding:
		return bindingEntry(KindClusterRoleBinding, "", t.Name, t.Labels, &t.RoleRef, t.Subjects), true
	}
	return entry{}, false
}

// Delete removes a live object by reference: Kind is one of the Kind constants, and a
// namespace is ObjectRef{Kind: KindNamespace, Name: name}. It reports whether the
// findings changed.
func (e *Evaluator) Delete(ref ObjectRef) bool {
	e.changed = false
	e.delete(ref)
	e.flush()
	return e.changed
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
	e.record(ref, old.findings)
	e.replace(old.findings, nil)
	old.findings = nil // gone from the sorted list; a Preview's undo may put old back
	if !old.binding {
		e.roleChanged(ref)
	}
	e.aggregationChanged(old, nil)
	e.refreshMissing(ref)
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
	e.refreshMissing(ent.ref)
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

// roleChanged re-checks the bindings that grant a role to ceiling subjects: the only
// other objects whose findings read it.
func (e *Evaluator) roleChanged(ref ObjectRef) {
	e.cache.trim(4096 + 2*len(e.objects))
	// Backwards: a binding that left the scope removes itself from this very list by
	// swapping the last one into its place, and the last one was already refreshed.
	bs := e.grants[ref]
	for i := len(bs) - 1; i >= 0; i-- {
		e.refresh(bs[i])
	}
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

type recordedFindings struct {
	ref      ObjectRef
	findings []Finding
}

// recordScan is how many recorded objects are searched one by one before an index.
const recordScan = 32

// recorded returns the findings Preview recorded for ref before its change.
func (e *Evaluator) recorded(ref ObjectRef) ([]Finding, bool) {
	if !e.previewing && !e.restoring {
		return nil, false
	}
	if e.recordIndex != nil {
		if i, ok := e.recordIndex[ref]; ok {
			return e.recording[i].findings, true
		}
		return nil, false
	}
	for i := range e.recording {
		if e.recording[i].ref == ref {
			return e.recording[i].findings, true
		}
	}
	return nil, false
}

// refresh recomputes one object's scope and findings.
func (e *Evaluator) refresh(ent *entry) {
	ent.inScope = e.inScope(ent)
	e.indexGrant(ent)
	var now []Finding
	if saved, ok := e.recorded(ent.ref); ok && e.restoring {
		now = saved // a Preview's undo: the inputs are back, so are the findings
	} else {
		now = e.check(ent)
	}
	old := ent.findings
	if findingsEqual(old, now) {
		return // keep old: the sorted list points into it
	}
	e.record(ent.ref, old)
	ent.findings = now
	e.replace(old, now)
}

// record keeps, while previewing, the findings the object at ref had before the
// change, for the undo to give back.
func (e *Evaluator) record(ref ObjectRef, old []Finding) {
	if !e.previewing {
		return
	}
	if _, seen := e.recorded(ref); seen {
		return
	}
	e.recording = append(e.recording, recordedFindings{ref, old})
	if len(e.recording) > recordScan {
		if e.recordIndex == nil {
			e.recordIndex = make(map[ObjectRef]int, 2*recordScan)
			for i := range e.recording {
				e.recordIndex[e.recording[i].ref] = i
			}
		}
		e.recordIndex[ref] = len(e.recording) - 1
	}
}

// check runs every check that applies to one live object. It collects into a reused
// buffer and returns an exactly sized copy (nil when clean), since most objects keep
// their findings for a long time.
func (e *Evaluator) check(ent *entry) []Finding {
	if !ent.inScope {
		return nil
	}
	out := e.scratch[:0]
	k := declKey{ent.ref.Kind, ent.ref.Name}
	if !ent.binding {
		if d := e.roles[k].at(ent.ref.Namespace); d != nil {
			out = append(out, checkRoleRules(d, ent)...)
		} else if e.report {
			out = append(out, checkUnexpected(ent.ref))
		}
		out = append(out, checkRoleGuardrails(&e.policy, ent, e.guardHit(ent))...)
		if ent.ref.Kind == KindClusterRole && e.aggr.feeders[ent.ref.Name] == ent {
			out = append(out, checkAggregation(&e.policy, ent, e.aggr.aggregationOf(ent))...)
		}
		if len(ent.vain) > 0 {
			out = append(out, checkIneffective(ent))
		}
		return e.keep(out)
	}
	if d := e.bindings[k].at(ent.ref.Namespace); d != nil {
		out = append(out, checkBindingShape(d, ent)...)
	} else if e.report {
		out = append(out, checkUnexpected(ent.ref))
	}
	role := e.objects[ent.grantKey()]
	out = append(out, checkBindingGuardrails(&e.policy, ent, role)...)
	if len(ent.reach) == 0 && e.usage == nil {
		return e.keep(out)
	}
	if role == nil || role.binding {
		return e.keep(out) // the role does not exist: it grants nothing
	}
	for i := range ent.reach {
		r := &ent.reach[i]
		if hit := e.beyond(r.ceiling, ent, role); len(hit.beyond) > 0 {
			out = append(out, checkCeiling(&e.ceil.list[r.ceiling], &r.via, ent, hit))
		}
	}
	if e.usage != nil {
		out = e.appendUnused(out, ent, role)
	}
	return e.keep(out)
}

// keep copies checked findings out of the scratch buffer, which it takes back. While
// previewing they go to the preview arena instead: the undo gives every re-checked
// object back its recorded findings, so nothing points into the arena afterwards.
func (e *Evaluator) keep(out []Finding) []Finding {
	var kept []Finding
	switch {
	case len(out) == 0:
	case e.previewing:
		kept = carve(&e.arena, out, max(2*cap(e.arena), 64))
	case e.loading:
		// One allocation per chunk rather than per object; a chunk lives as long
		// as any object still has its loaded findings.
		kept = carve(&e.loaded, out, loadChunk)
	default:
		kept = slices.Clone(out)
	}
	clear(out) // hold no pointers into objects that may go away
	e.scratch = out[:0]
	return kept
}

const loadChunk = 1024

// carve copies fs to the free tail of *buf, starting a new chunk of at least
// chunk findings when it is full, and returns the copy, capped so appends to it
// cannot reach the next carving.
func carve(buf *[]Finding, fs []Finding, chunk int) []Finding {
	if cap(*buf)-len(*buf) < len(fs) {
		*buf = make([]Finding, 0, max(chunk, len(fs)))
	}
	n := len(*buf)
	*buf = append(*buf, fs...)
	return (*buf)[n : n+len(fs) : n+len(fs)]
}

// beyond returns the rules a binding grants through role beyond ceiling ci.
func (e *Evaluator) beyond(ci int, ent, role *entry) *ceilHit {
	key := ceilKey{ci, e.ruleHash(role), ent.ref.Kind == KindRoleBinding}
	if hit := e.cache.ceil[key]; hit != nil && rulesEqual(hit.rules, role.rules) {
		return hit
	}
	beyond := uncovered(e.ceil.list[ci].rules, grantedRules(role.rules, key.viaRB))
	hit := &ceilHit{rules: role.rules, beyond: beyond, text: describeRules(beyond)}
	e.cache.ceil[key] = hit
	return hit
}

// guardHit returns the guardrail matches of a role's rules.
func (e *Evaluator) guardHit(ent *entry) *guardHit {
	h := e.ruleHash(ent)
	namespaced := ent.ref.Kind == KindRole
	if namespaced {
		h = ^h // a Role and a ClusterRole with the same rules grant different things
	}
	if hit := e.cache.guard[h]; hit != nil && hit.namespaced == namespaced && rulesEqual(hit.rules, ent.rules) {
		return hit
	}
	hit := &guardHit{rules: ent.rules, namespaced: namespaced, matches: guardrails.MatchRole(ent.rules, e.policy.enabled, namespaced)}
	for _, m := range hit.matches {
		hit.texts = append(hit.texts, guardrailText(m))
	}
	e.cache.guard[h] = hit
	return hit
}

func (e *Evaluator) ruleHash(ent *entry) uint64 {
	if !ent.hashed {
		ent.hash, ent.hashed = e.cache.hasher.sum(ent.rules), true
	}
	return ent.hash
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
		e.replace(nil, f)
	case !want && had:
		delete(e.missing, ref)
		e.replace(old, nil)
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

// replace records that old findings give way to new ones; flush applies the changes
// of one Upsert or Delete to the sorted list together. The list will point into new,
// which the caller keeps, and currently points into old.
func (e *Evaluator) replace(old, new []Finding) {
	if len(old) == 0 && len(new) == 0 {
		return
	}
	e.changed = true
	for i := range old {
		e.pendingDel = append(e.pendingDel, &old[i])
	}
	for i := range new {
		e.pendingAdd = append(e.pendingAdd, &new[i])
	}
	if e.logFull {
		return
	}
	if len(e.logAdded)+len(e.logRemoved) > 2*len(e.sorted)+1024 {
		// Nobody drained the log for a long while: a fresh start is cheaper.
		e.logAdded, e.logRemoved, e.logFull = nil, nil, true
		return
	}
	e.logRemoved = append(e.logRemoved, old...)
	e.logAdded = append(e.logAdded, new...)
}

// Changes returns the findings that entered and left the list since the previous
// call, and empties that log. A finding recomputed unchanged appears in both. full is
// true after a Load (or when the log grew past a bound): the caller must then start
// from Findings instead. Together they let a caller track what it has reported with
// work proportional to the change, not to every finding.
func (e *Evaluator) Changes() (added, removed []Finding, full bool) {
	added, removed, full = e.logAdded, e.logRemoved, e.logFull
	e.logAdded, e.logRemoved, e.logFull = nil, nil, false
	return added, removed, full
}

// flush applies pending changes: a few by binary search, many (a role granted by
// many bindings, a namespace changing selection) by one merge pass.
func (e *Evaluator) flush() {
	del, add := e.pendingDel, e.pendingAdd
	e.pendingDel, e.pendingAdd = del[:0], add[:0]
	for _, f := range del {
		addCount(&e.counts, f.Type, -1)
	}
	for _, f := range add {
		addCount(&e.counts, f.Type, 1)
	}
	if len(del)+len(add) <= 16 {
		for _, f := range del {
			pos, _ := slices.BinarySearchFunc(e.sorted, f, CompareFindings)
			for i := pos; i < len(e.sorted) && CompareFindings(e.sorted[i], f) == 0; i++ {
				if e.sorted[i] == f {
					e.sorted = slices.Delete(e.sorted, i, i+1)
					break
				}
			}
		}
		for _, f := range add {
			pos, _ := slices.BinarySearchFunc(e.sorted, f, CompareFindings)
			e.sorted = slices.Insert(e.sorted, pos, f)
		}
		return
	}
	gone := make(map[*Finding]bool, len(del))
	for _, f := range del {
		gone[f] = true
	}
	slices.SortFunc(add, CompareFindings)
	out := make([]*Finding, 0, len(e.sorted)-len(del)+len(add))
	i := 0
	for _, f := range e.sorted {
		if gone[f] {
			continue
		}
		for i < len(add) && CompareFindings(add[i], f) < 0 {
			out = append(out, add[i])
			i++
		}
		out = append(out, f)
	}
	out = append(out, add[i:]...)
	e.sorted = out
	clear(del)
	clear(add)
}
