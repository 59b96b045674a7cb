package grants

import (
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func TestMatch(t *testing.T) {
	edit := v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "edit"}
	view := v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"}
	oncall := v1alpha1.Subject{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: "oncall"}
	ci := v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, Namespace: "ci", Name: "deployer"}
	policy := []v1alpha1.GrantPolicy{
		{Name: "oncall-edit", Roles: []v1alpha1.RoleRef{edit}, Subjects: []v1alpha1.Subject{oncall}, Namespaces: []string{"shop", "pay"},
			MaxDuration: metav1.Duration{Duration: 4 * time.Hour}, Approvers: "leads"},
		{Name: "view-anywhere", Roles: []v1alpha1.RoleRef{view}, Subjects: []v1alpha1.Subject{oncall, ci}, ClusterWide: true,
			MaxDuration: metav1.Duration{Duration: 8 * time.Hour}},
	}
	grant := func(mut func(*v1alpha1.AccessGrantSpec)) *v1alpha1.AccessGrantSpec {
		s := &v1alpha1.AccessGrantSpec{Baseline: "team", Role: edit, Namespaces: []string{"shop"}, Duration: metav1.Duration{Duration: time.Hour}, Reason: "INC-1"}
		if mut != nil {
			mut(s)
		}
		return s
	}
	inScope := func(ns string) bool { return ns != "kube-system" }
	tests := map[string]struct {
		spec      *v1alpha1.AccessGrantSpec
		requester string
		groups    []string
		rule      string   // the rule that allows it; "" when refused
		why       []string // in the refusal
	}{
		"a member of the group, for themselves": {spec: grant(nil), requester: "alice", groups: []string{"oncall"}, rule: "oncall-edit"},
		"not a member": {spec: grant(nil), requester: "mallory", groups: []string{"devs"},
			why: []string{"rule oncall-edit: spec.subject: User mallory is not among its subjects (Group oncall), nor is the requester in their groups"}},
		"a member asking for someone else": {spec: grant(func(s *v1alpha1.AccessGrantSpec) {
			s.Subject = &v1alpha1.Subject{Kind: v1alpha1.SubjectUser, APIGroup: rbacv1.GroupName, Name: "mallory"}
		}), requester: "alice", groups: []string{"oncall"}, why: []string{"spec.subject: User mallory is not among its subjects (Group oncall)"}},
		"the group itself": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Subject = &oncall }), requester: "alice", rule: "oncall-edit"},
		"another role": {spec: grant(func(s *v1alpha1.AccessGrantSpec) {
			s.Role = v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "admin"}
		}),
			requester: "alice", groups: []string{"oncall"},
			why: []string{"rule oncall-edit: spec.role: ClusterRole admin is not among its roles (ClusterRole edit)", "rule view-anywhere: spec.role: ClusterRole admin is not among its roles (ClusterRole view)"}},
		"a namespace the rule does not name": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Namespaces = []string{"shop", "prod"} }),
			requester: "alice", groups: []string{"oncall"}, why: []string{"spec.namespaces: namespace prod is not among its namespaces (shop, pay)"}},
		"longer than maxDuration": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Duration.Duration = 5 * time.Hour }),
			requester: "alice", groups: []string{"oncall"}, why: []string{"rule oncall-edit: spec.duration: 5h0m0s is longer than its maxDuration 4h0m0s"}},
		"cluster-wide where a rule allows it": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Role, s.Namespaces = view, nil }),
			requester: "alice", groups: []string{"oncall"}, rule: "view-anywhere"},
		"cluster-wide where no rule allows it": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Namespaces = nil }),
			requester: "alice", groups: []string{"oncall"}, why: []string{"rule oncall-edit: spec.namespaces: it allows no cluster-wide grant"}},
		"a namespace outside the scope": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Role, s.Namespaces = view, []string{"kube-system"} }),
			requester: "alice", groups: []string{"oncall"}, why: []string{"rule view-anywhere: spec.namespaces: namespace kube-system is outside the baseline's scope"}},
		"a ServiceAccount asking for itself": {spec: grant(func(s *v1alpha1.AccessGrantSpec) { s.Role, s.Namespaces = view, []string{"ci"} }),
			requester: "system:serviceaccount:ci:deployer", rule: "view-anywhere"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rule, err := Match("team", policy, Request{Spec: tc.spec, Requester: tc.requester, Groups: tc.groups, InScope: inScope})
			if tc.rule != "" {
				if err != nil || rule.Name != tc.rule {
					t.Fatalf("want rule %s, got %v, %v", tc.rule, rule, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed by rule %s", rule.Name)
			}
			for _, w := range tc.why {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal lacks %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := Match("bare", nil, Request{Spec: grant(nil), Requester: "alice"}); err == nil || !strings.Contains(err.Error(), "RoleBaseline bare has no spec.grants") {
		t.Fatalf("no policy: %v", err)
	}
}
