package revert

import (
	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Replan says what an Enforce baseline must replan when the change of ref moved its
// findings: ref alone, or every object (the zero ref). A binding's findings depend on
// that binding only; a namespace changes what the scope selects, and a role changes
// the violations of every binding granting it when violations are reverted.
func Replan(spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef) drift.ObjectRef {
	switch ref.Kind {
	case drift.KindNamespace:
		return drift.ObjectRef{}
	case drift.KindRole, drift.KindClusterRole:
		if spec.Enforcement.EffectiveViolations() == v1alpha1.ViolationRemoveSubjects {
			return drift.ObjectRef{}
		}
	}
	return ref
}
