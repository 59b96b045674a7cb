package snapshot

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var (
	readPods = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	readCM   = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}
)

func role(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func TestBaselinesGroupAndExclude(t *testing.T) {
	snap := &drift.Snapshot{
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}, {ObjectMeta: metav1.ObjectMeta{Name: "c"}}},
		Roles:      []rbacv1.Role{role("a", "r", readPods), role("b", "r", readPods), role("c", "r", readCM), role("a", "system:x", readPods)},
		ClusterRoles: []rbacv1.ClusterRole{{ObjectMeta: metav1.ObjectMeta{Name: "view"}}, {ObjectMeta: metav1.ObjectMeta{Name: "mine"}, Rules: []rbacv1.PolicyRule{readPods}},
			{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"k": "v"}}}}}},
		RoleBindings: []rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa"}, {Kind: "User", Name: "alice"}}}},
	}
	out, err := Baselines(snap, Options{Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Name != "s-cluster" || out[1].Name != "s-namespaces-1" {
		t.Fatalf("baselines: %v", names(out))
	}
	cluster, ns := out[0].Spec, out[1].Spec
	if got := fmt.Sprint(declared(cluster.Roles)); got != "[ClusterRole/agg(agg) ClusterRole/mine]" {
		t.Errorf("cluster roles %s (bootstrap view left out, agg by its rule)", got)
	}
	if got := fmt.Sprint(declared(ns.Roles)); got != "[Role/r[a b] Role/r[c]]" {
		t.Errorf("namespaced roles %s (alike ones share a declaration; system:x left out)", got)
	}
	if fmt.Sprint(ns.Scope.Namespaces) != "[a b c]" || ns.Unmanaged != v1alpha1.UnmanagedReport {
		t.Errorf("scope %v, unmanaged %s", ns.Scope.Namespaces, ns.Unmanaged)
	}
	s := ns.Bindings[0].Subjects
	if s[0].Namespace != "" || s[1].APIGroup != v1alpha1.RBACGroup {
		t.Errorf("subjects %+v: a ServiceAccount keeps its omitted namespace, a User gets the rbac/v1 default apiGroup", s)
	}
	for _, rb := range out {
		fs, err := drift.Evaluate(&rb.Spec, snap, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Type.IsDrift() {
				t.Errorf("%s: drift %s", rb.Name, f.Message())
			}
		}
	}

	withSystem, _ := Baselines(snap, Options{Name: "s", IncludeSystem: true})
	if n := len(withSystem[0].Spec.Roles); n != 3 || !withSystem[0].Spec.Scope.Exclude.IncludeSystem {
		t.Errorf("IncludeSystem: %d cluster roles, want view too", n)
	}
}

func TestPackSplitsByCountAndBytes(t *testing.T) {
	many := make([]v1alpha1.DesiredRole, v1alpha1.MaxRoles+1)
	for i := range many {
		many[i] = v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: fmt.Sprint(i), Rules: drift.ToAPIRules(readPods)}
	}
	if ps := pack(many, nil); len(ps) != 2 || len(ps[0].roles) != v1alpha1.MaxRoles || len(ps[1].roles) != 1 {
		t.Errorf("count: %d parts", len(ps))
	}
	big := make([]v1alpha1.DesiredRole, 3)
	long := make([]string, 64)
	for i := range long {
		long[i] = fmt.Sprintf("%0250d", i)
	}
	for i := range big {
		big[i] = v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: fmt.Sprint(i),
			Rules: drift.ToAPIRules(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: long, ResourceNames: long, Verbs: []string{"get"}})}
	}
	for range 5 {
		big = append(big, big...)
	}
	ps := pack(big, nil)
	if len(ps) < 2 {
		t.Fatalf("bytes: %d parts for %d roles of %d bytes", len(ps), len(big), jsonSize(big[0]))
	}
	for _, p := range ps {
		if p.bytes > maxSpecBytes {
			t.Errorf("part of %d bytes", p.bytes)
		}
	}
}

func names(out []v1alpha1.RoleBaseline) []string {
	var n []string
	for _, rb := range out {
		n = append(n, rb.Name)
	}
	return n
}

func declared(rs []v1alpha1.DesiredRole) []string {
	var out []string
	for _, r := range rs {
		s := string(r.Kind) + "/" + r.Name
		if r.AggregationRule != nil {
			s += "(agg)"
		}
		if len(r.Namespaces) > 0 {
			s += fmt.Sprint(r.Namespaces)
		}
		out = append(out, s)
	}
	return out
}
