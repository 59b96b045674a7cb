package drift

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
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
	esc        escalations             // escalation paths, per subject
	missing    map[ObjectRef][]Finding // one-element slices, so sorted can point into them
	cache      caches
	scratch    []Finding // check's buffer
	arena      []Finding // findings checked while previewing, reused by the next Preview
	proposed   entry     // the object a Preview puts in, until its undo takes it out
	loaded     []Finding // the chunk Load is filling
	loading    bool
	atoms      []rbacv1.PolicyRule // appendUnused's buffer
	list       findingList         // every finding, sorted, and the log of changes
	// needNS are namespaces the scope started selecting, whose objects the caller
	// must Upsert (NeedNamespaces).
	needNS []string
	rec    recorder // serves Preview
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

// Spec returns the baseline spec the Evaluator was built from. It is the Evaluator's
// own copy and must not be modified.
func (e *Evaluator) Spec() *v1alpha1.RoleBaselineSpec { return e.spec }

// NeedNamespaces returns, once, the namespaces the scope started selecting since the
// last call. Their Roles and RoleBindings were not kept: Upsert each of them, or
// Findings will lack theirs (and report declared ones Missing).
func (e *Evaluator) NeedNamespaces() []string {
	out := e.needNS
	e.needNS = nil
	return out
}

// Findings returns the current findings, sorted by CompareFindings. The slice is a
// copy; the rules and subjects in it are shared and must not be modified.
func (e *Evaluator) Findings() []Finding { return deref(e.list.sorted) }

// ObjectFindings returns the current findings about one object (Missing included), in
// CompareFindings order: what Enforce mode reverts when that object changes. The slice
// is a copy; the rules and subjects in it are shared and must not be modified.
func (e *Evaluator) ObjectFindings(ref ObjectRef) []Finding {
	var out []Finding
	if ent := e.objects[ref]; ent != nil {
		out = append(out, ent.findings...)
	}
	out = append(out, e.missing[ref]...)
	out = e.esc.objectFindings(out, ref)
	slices.SortFunc(out, func(a, b Finding) int { return CompareFindings(&a, &b) })
	return out
}

// Len returns the number of current findings.
func (e *Evaluator) Len() int { return len(e.list.sorted) }

// Top returns the first n findings in API form and how many were left out, ready for status.
func (e *Evaluator) Top(n int) ([]v1alpha1.Finding, int32) {
	n = max(0, min(n, len(e.list.sorted)))
	out := make([]v1alpha1.Finding, n)
	for i := range out {
		out[i] = e.list.sorted[i].ToAPI()
	}
	return out, int32(len(e.list.sorted) - n)
}

// Counts sums the current findings by type.
func (e *Evaluator) Counts() v1alpha1.FindingCounts {
	c := e.list.counts
	c.ByType = maps.Clone(c.ByType)
	return c
}

// Changes returns the findings that entered and left the list since the previous
// call, and empties that log. A finding recomputed unchanged appears in both. full is
// true after a Load (or when the log grew past a bound): the caller must then start
// from Findings instead. Together they let a caller track what it has reported with
// work proportional to the change, not to every finding.
func (e *Evaluator) Changes() (added, removed []Finding, full bool) {
	return e.list.changes()
}

// Upsert adds or replaces a live object: *rbacv1.Role, *rbacv1.ClusterRole,
// *rbacv1.RoleBinding, *rbacv1.ClusterRoleBinding, *corev1.Namespace or
// *corev1.ServiceAccount. It reports whether the findings changed. The object is
// kept by reference and must not be modified afterwards (informer cache objects are
// never modified, so they can be passed as they are).
func (e *Evaluator) Upsert(obj runtime.Object) (bool, error) {
	e.list.changed = false
	if err := e.upsert(obj); err != nil {
		return false, err
	}
	e.settleEscalations()
	e.list.flush()
	return e.list.changed, nil
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

// Delete removes a live object by reference: Kind is one of the Kind constants, and a
// namespace is ObjectRef{Kind: KindNamespace, Name: name}. It reports whether the
// findings changed.
func (e *Evaluator) Delete(ref ObjectRef) bool {
	e.list.changed = false
	e.delete(ref)
	e.settleEscalations()
	e.list.flush()
	return e.list.changed
}
