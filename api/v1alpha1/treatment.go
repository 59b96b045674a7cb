package v1alpha1

// How Enforce mode treats each finding type, in one place: the revert planner asks
// Reverts, the RBAC admission webhook asks Refuses. Audit mode reverts and refuses nothing.

// Reverts reports whether an Enforce baseline with this spec puts findings of type t
// back: drift always; undeclared objects only with unmanaged: Remove; ceilings and
// guardrails only with violations: RemoveSubjects; advisory findings never.
func (s *RoleBaselineSpec) Reverts(t FindingType) bool {
	switch t {
	case FindingUnexpected:
		return s.Unmanaged == UnmanagedRemove
	case FindingExceedsCeiling, FindingGuardrailViolation:
		return s.Enforcement.EffectiveViolations() == ViolationRemoveSubjects
	case FindingUnusedPermission, FindingIneffectiveRule:
		return false
	}
	return true
}

// Refuses reports whether an Enforce baseline whose undeclared objects are treated as
// unmanaged refuses an RBAC change that introduces a finding of type t: every drift
// and violation, undeclared objects only with unmanaged: Remove, advisory findings never.
func Refuses(unmanaged UnmanagedPolicy, t FindingType) bool {
	switch t {
	case FindingUnexpected:
		return unmanaged == UnmanagedRemove
	case FindingUnusedPermission, FindingIneffectiveRule:
		return false
	}
	return true
}

// EffectiveMode is the mode, Audit when unset.
func (s *RoleBaselineSpec) EffectiveMode() Mode {
	if s.Mode == "" {
		return ModeAudit
	}
	return s.Mode
}

// Enforces reports whether the operator writes for this spec: Enforce mode, not a dry run.
func (s *RoleBaselineSpec) Enforces() bool {
	return s.Mode == ModeEnforce && !s.Enforcement.DryRun
}
