package approval

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func TestEffectHash(t *testing.T) {
	base := func() *v1alpha1.RoleBaseline {
		return &v1alpha1.RoleBaseline{Spec: v1alpha1.RoleBaselineSpec{Mode: v1alpha1.ModeEnforce,
			Scope: v1alpha1.Scope{Namespaces: []string{"a"}},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "r", Rules: []v1alpha1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}}}}
	}
	tests := map[string]struct {
		edit    func(*v1alpha1.RoleBaseline)
		changes bool
	}{
		"nothing":                 {func(*v1alpha1.RoleBaseline) {}, false},
		"labels":                  {func(rb *v1alpha1.RoleBaseline) { rb.Labels = map[string]string{"x": "y"} }, false},
		"journal size":            {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.JournalLimit = 5 }, false},
		"guardrails, report only": {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Guardrails.Set = v1alpha1.GuardrailSetAll }, false},
		"violations defaulted":    {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.Violations = v1alpha1.ViolationReport }, false},
		"mode":                    {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Mode = v1alpha1.ModeAudit }, true},
		"dry run":                 {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.DryRun = true }, true},
		"scope":                   {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Scope.Namespaces = []string{"a", "b"} }, true},
		"rules":                   {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Rules[0].Verbs = []string{"*"} }, true},
		"unmanaged":               {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Unmanaged = v1alpha1.UnmanagedRemove }, true},
		"owned objects":           {func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.IncludeOwned = true }, true},
		"guardrails while removing subjects": {func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
		}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb := base()
			tc.edit(rb)
			if got := EffectHash(&rb.Spec) != EffectHash(&base().Spec); got != tc.changes {
				t.Errorf("hash changed = %v, want %v", got, tc.changes)
			}
		})
	}
	removing := base()
	removing.Spec.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
	edited := removing.DeepCopy()
	edited.Spec.Guardrails.Set = v1alpha1.GuardrailSetAll
	if EffectHash(&removing.Spec) == EffectHash(&edited.Spec) {
		t.Error("with RemoveSubjects, the guardrails decide what is removed: their change must need approval")
	}
}

func TestRecordApproves(t *testing.T) {
	rb := &v1alpha1.RoleBaseline{Spec: v1alpha1.RoleBaselineSpec{Mode: v1alpha1.ModeEnforce}}
	rb.UID = types.UID("u1")
	rec := &Record{UID: "u1", Hash: EffectHash(&rb.Spec)}
	if !rec.Approves(rb) {
		t.Error("a record of this UID and spec does not approve it")
	}
	other := rb.DeepCopy()
	other.UID = "u2"
	if rec.Approves(other) {
		t.Error("a record approves a re-created baseline of the same spec")
	}
	var none *Record
	if none.Approves(rb) {
		t.Error("no record approves")
	}
}
