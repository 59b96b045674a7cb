package revert

import (
	"testing"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

func TestReplan(t *testing.T) {
	report := &v1alpha1.RoleBaselineSpec{Mode: v1alpha1.ModeEnforce}
	remove := &v1alpha1.RoleBaselineSpec{Mode: v1alpha1.ModeEnforce,
		Enforcement: v1alpha1.Enforcement{Violations: v1alpha1.ViolationRemoveSubjects}}
	role := drift.ObjectRef{Kind: drift.KindRole, Namespace: "a", Name: "r"}
	crole := drift.ObjectRef{Kind: drift.KindClusterRole, Name: "r"}
	rb := drift.ObjectRef{Kind: drift.KindRoleBinding, Namespace: "a", Name: "b"}
	crb := drift.ObjectRef{Kind: drift.KindClusterRoleBinding, Name: "b"}
	ns := drift.ObjectRef{Kind: drift.KindNamespace, Name: "a"}
	all := drift.ObjectRef{}
	for _, tc := range []struct {
		name string
		spec *v1alpha1.RoleBaselineSpec
		ref  drift.ObjectRef
		want drift.ObjectRef
	}{
		{"a binding replans itself", report, rb, rb},
		{"a cluster binding replans itself", remove, crb, crb},
		{"a role replans itself while violations are only reported", report, role, role},
		{"a cluster role replans itself while violations are only reported", report, crole, crole},
		{"a role replans every binding when violations remove subjects", remove, role, all},
		{"a cluster role replans every binding when violations remove subjects", remove, crole, all},
		{"a namespace replans the scope", report, ns, all},
		{"a full change stays full", report, all, all},
	} {
		if got := Replan(tc.spec, tc.ref); got != tc.want {
			t.Errorf("%s: Replan = %v, want %v", tc.name, got, tc.want)
		}
	}
}
