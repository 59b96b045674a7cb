package snapshot

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Options choose what a snapshot declares.
type Options struct {
	// Name prefixes the baselines' names.
	Name string
	// IncludeSystem declares the API server's bootstrap policy and system: objects
	// too; by default they stay out of scope, as a baseline's default scope leaves them.
	IncludeSystem bool
	// Mode of the baselines; Audit when empty.
	Mode v1alpha1.Mode
}

// maxNamespaces is the most namespaces spec.scope.namespaces lists.
const maxNamespaces = 256

// Baselines declares every object of snap that the options keep: one baseline for
// cluster-scoped objects and one per group of namespaces, more where one baseline
// cannot hold the declarations (v1alpha1.MaxRoles, MaxBindings, maxSpecBytes). Same-named namespaced
// objects alike in several namespaces are declared once, listing those namespaces.
// A baseline that holds all of its scope's objects reports undeclared ones
// (unmanaged: Report); one of several sharing a scope ignores them, as the others
// declare them.
func Baselines(snap *drift.Snapshot, opt Options) ([]v1alpha1.RoleBaseline, error) {
	if opt.Mode == "" {
		opt.Mode = v1alpha1.ModeAudit
	}
	all := &v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, NamespaceSelector: &metav1.LabelSelector{},
		Exclude: v1alpha1.Exclusions{IncludeSystem: opt.IncludeSystem}}}
	scope, err := drift.CompileScope(all)
	if err != nil {
		return nil, err
	}
	keep := func(kind, ns, name string, lbl map[string]string) bool { return scope.Covers(kind, ns, name, lbl, nil) }

	var clusterRoles []v1alpha1.DesiredRole
	for i := range snap.ClusterRoles {
		r := &snap.ClusterRoles[i]
		if keep(drift.KindClusterRole, "", r.Name, r.Labels) {
			clusterRoles = append(clusterRoles, desiredRole(v1alpha1.KindClusterRole, r.Name, r.Rules, r.AggregationRule))
		}
	}
	var clusterBindings []v1alpha1.DesiredBinding
	for i := range snap.ClusterRoleBindings {
		b := &snap.ClusterRoleBindings[i]
		if keep(drift.KindClusterRoleBinding, "", b.Name, b.Labels) {
			clusterBindings = append(clusterBindings, desiredBinding(v1alpha1.KindClusterRoleBinding, b.Name, b.RoleRef, b.Subjects))
		}
	}
	roles := grouped[v1alpha1.DesiredRole]{}
	for i := range snap.Roles {
		r := &snap.Roles[i]
		if keep(drift.KindRole, r.Namespace, r.Name, r.Labels) {
			roles.add(r.Namespace, desiredRole(v1alpha1.KindRole, r.Name, r.Rules, nil))
		}
	}
	bindings := grouped[v1alpha1.DesiredBinding]{}
	for i := range snap.RoleBindings {
		b := &snap.RoleBindings[i]
		if keep(drift.KindRoleBinding, b.Namespace, b.Name, b.Labels) {
			bindings.add(b.Namespace, desiredBinding(v1alpha1.KindRoleBinding, b.Name, b.RoleRef, b.Subjects))
		}
	}

	slices.SortFunc(clusterRoles, func(a, b v1alpha1.DesiredRole) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(clusterBindings, func(a, b v1alpha1.DesiredBinding) int { return cmp.Compare(a.Name, b.Name) })
	var out []v1alpha1.RoleBaseline
	base := func(suffix string, scope v1alpha1.Scope) v1alpha1.RoleBaseline {
		scope.Exclude.IncludeSystem = opt.IncludeSystem
		return v1alpha1.RoleBaseline{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "RoleBaseline"},
			ObjectMeta: metav1.ObjectMeta{Name: opt.Name + suffix},
			Spec:       v1alpha1.RoleBaselineSpec{Mode: opt.Mode, Scope: scope, Unmanaged: v1alpha1.UnmanagedReport},
		}
	}
	if len(clusterRoles)+len(clusterBindings) > 0 {
		ps := pack(clusterRoles, clusterBindings)
		for p := range ps {
			rb := base(suffix("-cluster", p, len(ps)), v1alpha1.Scope{ClusterScoped: true})
			rb.Spec.Roles, rb.Spec.Bindings = ps[p].roles, ps[p].bindings
			out = append(out, rb)
		}
	}
	namespaces := slices.Sorted(maps.Keys(roles.namespaces(bindings.namespaces(map[string]bool{}))))
	for g := 0; g*maxNamespaces < len(namespaces); g++ {
		nss := namespaces[g*maxNamespaces : min(len(namespaces), (g+1)*maxNamespaces)]
		ps := pack(roles.declarations(nss), bindings.declarations(nss))
		for p := range ps {
			rb := base(suffix(fmt.Sprintf("-namespaces-%d", g+1), p, len(ps)), v1alpha1.Scope{Namespaces: nss})
			rb.Spec.Roles, rb.Spec.Bindings = ps[p].roles, ps[p].bindings
			out = append(out, rb)
		}
	}
	for i := range out {
		if len(out) > 1 && sharesScope(out, i) {
			out[i].Spec.Unmanaged = v1alpha1.UnmanagedIgnore
		}
	}
	return out, nil
}

func suffix(s string, part, parts int) string {
	if parts == 1 {
		return s
	}
	return fmt.Sprintf("%s-part-%d", s, part+1)
}

// maxSpecBytes bounds the declarations of one baseline, in JSON: etcd holds objects
// of up to 1.5 MiB, and metadata and status need room too.
const maxSpecBytes = 1 << 20

type part struct {
	roles    []v1alpha1.DesiredRole
	bindings []v1alpha1.DesiredBinding
	bytes    int
}

// pack fills baselines in order, starting another where one would pass the schema's
// limits or maxSpecBytes.
func pack(roles []v1alpha1.DesiredRole, bindings []v1alpha1.DesiredBinding) []part {
	out := []part{{}}
	fits := func(n, limit, size int) bool {
		last := &out[len(out)-1]
		return n < limit && last.bytes+size <= maxSpecBytes
	}
	for _, r := range roles {
		size := jsonSize(r)
		if !fits(len(out[len(out)-1].roles), v1alpha1.MaxRoles, size) {
			out = append(out, part{})
		}
		last := &out[len(out)-1]
		last.roles, last.bytes = append(last.roles, r), last.bytes+size
	}
	for _, b := range bindings {
		size := jsonSize(b)
		if !fits(len(out[len(out)-1].bindings), v1alpha1.MaxBindings, size) {
			out = append(out, part{})
		}
		last := &out[len(out)-1]
		last.bindings, last.bytes = append(last.bindings, b), last.bytes+size
	}
	return out
}

func jsonSize(v any) int {
	data, _ := json.Marshal(v) // plain data: cannot fail
	return len(data) + 1       // and a comma
}

// sharesScope: another baseline has the same scope, so each declares part of it.
func sharesScope(out []v1alpha1.RoleBaseline, i int) bool {
	for j := range out {
		if j != i && out[j].Spec.Scope.ClusterScoped == out[i].Spec.Scope.ClusterScoped &&
			slices.Equal(out[j].Spec.Scope.Namespaces, out[i].Spec.Scope.Namespaces) {
			return true
		}
	}
	return false
}

func desiredRole(kind v1alpha1.RoleKind, name string, rules []rbacv1.PolicyRule, agg *rbacv1.AggregationRule) v1alpha1.DesiredRole {
	d := v1alpha1.DesiredRole{Kind: kind, Name: name}
	if agg != nil && len(agg.ClusterRoleSelectors) > 0 {
		d.AggregationRule = &v1alpha1.AggregationRule{ClusterRoleSelectors: agg.ClusterRoleSelectors}
		return d
	}
	d.Rules = drift.ToAPIRules(rules...)
	return d
}

func desiredBinding(kind v1alpha1.BindingKind, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) v1alpha1.DesiredBinding {
	d := v1alpha1.DesiredBinding{Kind: kind, Name: name, RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.RoleKind(ref.Kind), Name: ref.Name}}
	for _, s := range subjects {
		api := v1alpha1.Subject{Kind: v1alpha1.SubjectKind(s.Kind), APIGroup: s.APIGroup, Name: s.Name, Namespace: s.Namespace}
		if api.APIGroup == "" && s.Kind != rbacv1.ServiceAccountKind {
			api.APIGroup = v1alpha1.RBACGroup // the rbac/v1 default
		}
		d.Subjects = append(d.Subjects, api)
	}
	return d
}

// grouped collects namespaced declarations: alike ones (same JSON) of one name share
// one entry that lists their namespaces.
type grouped[T any] map[string]*group[T]

type group[T any] struct {
	decl       T
	name       string
	namespaces []string
}

func (g grouped[T]) add(ns string, d T) {
	key, _ := json.Marshal(d) // plain data: cannot fail
	e := g[string(key)]
	if e == nil {
		e = &group[T]{decl: d, name: nameOf(d)}
		g[string(key)] = e
	}
	e.namespaces = append(e.namespaces, ns)
}

func (g grouped[T]) namespaces(into map[string]bool) map[string]bool {
	for _, e := range g {
		for _, ns := range e.namespaces {
			into[ns] = true
		}
	}
	return into
}

// declarations returns the entries for the namespaces nss (sorted), by name, each
// listing those of its namespaces that are in nss.
func (g grouped[T]) declarations(nss []string) []T {
	type named struct {
		name, first string
		d           T
	}
	var out []named
	for _, e := range g {
		var in []string
		for _, ns := range e.namespaces {
			if _, ok := slices.BinarySearch(nss, ns); ok {
				in = append(in, ns)
			}
		}
		if len(in) == 0 {
			continue
		}
		slices.Sort(in)
		out = append(out, named{e.name, in[0], withNamespaces(e.decl, in)})
	}
	slices.SortFunc(out, func(a, b named) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.first, b.first)) })
	decls := make([]T, len(out))
	for i := range out {
		decls[i] = out[i].d
	}
	return decls
}

func nameOf[T any](d T) string {
	switch t := any(d).(type) {
	case v1alpha1.DesiredRole:
		return t.Name
	case v1alpha1.DesiredBinding:
		return t.Name
	}
	return ""
}

func withNamespaces[T any](d T, nss []string) T {
	switch t := any(&d).(type) {
	case *v1alpha1.DesiredRole:
		t.Namespaces = nss
	case *v1alpha1.DesiredBinding:
		t.Namespaces = nss
	}
	return d
}
