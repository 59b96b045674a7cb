package drift

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// TestDerivedMessages: the messages built on demand name the subject, the group
// through which a binding reaches it, the binding, its role and the rules.
func TestDerivedMessages(t *testing.T) {
	getPods := ToAPIRules(pr(ss(""), ss("pods"), ss("get")))
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a"), ClusterScoped: true},
		Guardrails: noGuardrails, Unmanaged: v1alpha1.UnmanagedReport,
		Subjects: []v1alpha1.SubjectCeiling{
			{Subject: v1alpha1.Subject{Kind: v1alpha1.SubjectUser, Name: "alice"}, Rules: getPods},
			{Subject: v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, Namespace: "team-a", Name: "builder"}, Rules: getPods},
		}}
	snap := Snapshot{Namespaces: teamNSObjs,
		Roles:               []rbacv1.Role{role("team-a", "reader", readPods)},
		ClusterRoles:        []rbacv1.ClusterRole{clusterRole("viewer", readPods)},
		RoleBindings:        []rbacv1.RoleBinding{roleBinding("team-a", "readers", roleRef("Role", "reader"), user("alice"))},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("ci", roleRef("ClusterRole", "viewer"), group("system:serviceaccounts:team-a"))},
	}
	got, err := Evaluate(&spec, &snap, usedSet{"RoleBinding team-a/readers|alice|get pods": true})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for i := range got {
		msgs = append(msgs, string(got[i].Type)+": "+got[i].Message())
		if api := got[i].ToAPI(); api.Message != got[i].Message() {
			t.Errorf("ToAPI message %q, Message %q", api.Message, got[i].Message())
		}
	}
	slices.Sort(msgs)
	want := []string{
		"ExceedsCeiling: ServiceAccount team-a/builder (as member of Group system:serviceaccounts:team-a) is granted beyond its ceiling " +
			"by ClusterRoleBinding ci through ClusterRole viewer, cluster-wide: list,watch pods [core]",
		"ExceedsCeiling: User alice is granted beyond its ceiling by RoleBinding team-a/readers through Role reader, " +
			"in namespace team-a: list,watch pods [core]",
		"Unexpected: ClusterRoleBinding ci is in scope but not declared by the baseline",
		"Unexpected: ClusterRole viewer is in scope but not declared by the baseline",
		"Unexpected: RoleBinding team-a/readers is in scope but not declared by the baseline",
		"Unexpected: Role team-a/reader is in scope but not declared by the baseline",
		"UnusedPermission: Group system:serviceaccounts:team-a did not use 3 of the 3 permissions ClusterRoleBinding ci grants " +
			"through ClusterRole viewer during the usage window: get,list,watch pods [core]",
		"UnusedPermission: User alice did not use 2 of the 3 permissions RoleBinding team-a/readers grants " +
			"through Role reader during the usage window: list,watch pods [core]",
	}
	slices.Sort(want)
	if !slices.Equal(msgs, want) {
		t.Errorf("messages differ\ngot:\n  %s\nwant:\n  %s", strings.Join(msgs, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestSortFindingsEqualsCompare: the grouped sort gives CompareFindings' order.
func TestSortFindingsEqualsCompare(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	sevs := []v1alpha1.Severity{v1alpha1.SeverityCritical, v1alpha1.SeverityHigh, v1alpha1.SeverityMedium, v1alpha1.SeverityLow, ""}
	types := []v1alpha1.FindingType{v1alpha1.FindingMissing, v1alpha1.FindingRulesAdded, v1alpha1.FindingUnexpected,
		v1alpha1.FindingExceedsCeiling, v1alpha1.FindingGuardrailViolation, v1alpha1.FindingUnusedPermission, "Other"}
	for round := 0; round < 50; round++ {
		var fs []*Finding
		for i := 0; i < 300; i++ {
			f := NewFinding(types[rng.Intn(len(types))], ObjectRef{KindRole, fmt.Sprint("ns", rng.Intn(3)), fmt.Sprint("r", rng.Intn(20))},
				fmt.Sprint("m", rng.Intn(4)))
			f.Severity = sevs[rng.Intn(len(sevs))]
			fs = append(fs, &f)
		}
		want := slices.Clone(fs)
		slices.SortStableFunc(want, CompareFindings)
		sortFindings(fs)
		for i := range fs {
			if CompareFindings(fs[i], want[i]) != 0 {
				t.Fatalf("round %d: position %d holds %s, want %s", round, i, describe(*fs[i]), describe(*want[i]))
			}
		}
	}
}
