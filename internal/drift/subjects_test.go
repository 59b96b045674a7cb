package drift

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// A ServiceAccount subject without a namespace means the RoleBinding's namespace, on
// either side (plugin/pkg/auth/authorizer/rbac appliesToUser in k8s.io/kubernetes).
func TestDiffSubjectsDefaultsServiceAccountNamespace(t *testing.T) {
	sa := func(ns string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci", Namespace: ns}
	}
	declared := func(ns string) []v1alpha1.Subject {
		return []v1alpha1.Subject{{Kind: v1alpha1.SubjectServiceAccount, Name: "ci", Namespace: ns}}
	}
	tests := map[string]struct {
		desired   []v1alpha1.Subject
		live      []rbacv1.Subject
		bindingNS string
		drift     bool
	}{
		"declared without namespace, live in the binding's": {declared(""), []rbacv1.Subject{sa("team")}, "team", false},
		"declared in the binding's namespace, live without": {declared("team"), []rbacv1.Subject{sa("")}, "team", false},
		"both without": {declared(""), []rbacv1.Subject{sa("")}, "team", false},
		"declared without namespace, live in another namespace":     {declared(""), []rbacv1.Subject{sa("other")}, "team", true},
		"ClusterRoleBinding: no default, so an omitted one differs": {declared(""), []rbacv1.Subject{sa("team")}, "", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			added, removed := diffSubjects(tc.desired, tc.live, tc.bindingNS)
			if got := len(added)+len(removed) > 0; got != tc.drift {
				t.Errorf("added %v removed %v, want drift %v", added, removed, tc.drift)
			}
		})
	}
}
