package drift

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// TestDeclaredNamespaces: a declaration that lists namespaces is expected there only,
// and one name can carry different rules or subjects per namespace.
func TestDeclaredNamespaces(t *testing.T) {
	scope := v1alpha1.Scope{Namespaces: ss("a", "b", "c")}
	nss := []corev1.Namespace{namespace("a"), namespace("b"), namespace("c")}
	readCM := pr(ss(""), ss("configmaps"), ss("get"))
	decl := func(name string, nss []string, rules ...rbacv1.PolicyRule) v1alpha1.DesiredRole {
		return v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: name, Namespaces: nss, Rules: ToAPIRules(rules...)}
	}
	bind := func(nss []string, s rbacv1.Subject) v1alpha1.DesiredBinding {
		return v1alpha1.DesiredBinding{Kind: v1alpha1.KindRoleBinding, Name: "b", Namespaces: nss,
			RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "r"}, Subjects: apiSubjects(s)}
	}
	tests := map[string]struct {
		roles    []v1alpha1.DesiredRole
		bindings []v1alpha1.DesiredBinding
		live     []rbacv1.Role
		liveRB   []rbacv1.RoleBinding
		want     []string
	}{
		"expected only where listed": {
			roles: []v1alpha1.DesiredRole{decl("r", ss("a"), readPods)},
			live:  []rbacv1.Role{role("a", "r", readPods)},
		},
		"missing where listed": {
			roles: []v1alpha1.DesiredRole{decl("r", ss("a", "b"), readPods)},
			live:  []rbacv1.Role{role("a", "r", readPods)},
			want:  []string{"Missing Role b/r"},
		},
		"different rules per namespace, each judged by its own": {
			roles: []v1alpha1.DesiredRole{decl("r", ss("a"), readPods), decl("r", ss("b"), readCM)},
			live:  []rbacv1.Role{role("a", "r", readPods), role("b", "r", readPods)},
			want:  []string{"RulesAdded Role b/r rules=get,list,watch pods [core]", "RulesRemoved Role b/r rules=get configmaps [core]"},
		},
		"a declaration without namespaces covers the rest": {
			roles: []v1alpha1.DesiredRole{decl("r", ss("a"), readCM), decl("r", nil, readPods)},
			live:  []rbacv1.Role{role("a", "r", readCM), role("b", "r", readPods)},
			want:  []string{"Missing Role c/r"},
		},
		"bindings too": {
			bindings: []v1alpha1.DesiredBinding{bind(ss("a"), user("alice")), bind(ss("b"), user("bob"))},
			liveRB: []rbacv1.RoleBinding{roleBinding("a", "b", roleRef("Role", "r"), user("alice")),
				roleBinding("b", "b", roleRef("Role", "r"), user("alice"))},
			want: []string{"SubjectsAdded RoleBinding b/b subjects=User alice", "SubjectsRemoved RoleBinding b/b subjects=User bob"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.RoleBaselineSpec{Scope: scope, Guardrails: noGuardrails, Roles: tc.roles, Bindings: tc.bindings}
			snap := &Snapshot{Namespaces: nss, Roles: tc.live, RoleBindings: tc.liveRB}
			for _, e := range []*Evaluator{loaded(t, &spec, snap, nil), incremental(t, &spec, snap)} {
				got := describeAll(e.Findings())
				slices.Sort(got)
				if !slices.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
					t.Fatalf("got %q\nwant %q", got, tc.want)
				}
			}
		})
	}
}
