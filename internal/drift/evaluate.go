package drift

import (
	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Evaluate compares a snapshot of live RBAC with a baseline spec and returns every
// finding, sorted by CompareFindings. usage may be nil. The error is an invalid spec,
// such as a label selector that does not parse; its message names the field.
func Evaluate(spec *v1alpha1.RoleBaselineSpec, snap *Snapshot, usage Usage) ([]Finding, error) {
	e, err := NewEvaluator(spec, usage)
	if err != nil {
		return nil, err
	}
	e.load(snap, false)
	return deref(e.list.sorted), nil
}
