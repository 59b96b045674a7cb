package v1alpha1

import "testing"

func TestTreatment(t *testing.T) {
	report := RoleBaselineSpec{Unmanaged: UnmanagedReport}
	remove := RoleBaselineSpec{Unmanaged: UnmanagedRemove, Enforcement: Enforcement{Violations: ViolationRemoveSubjects}}
	tests := map[FindingType]struct{ revertReport, revertRemove, refuseReport, refuseRemove bool }{
		FindingMissing:            {true, true, true, true},
		FindingRulesAdded:         {true, true, true, true},
		FindingRoleRefChanged:     {true, true, true, true},
		FindingUnexpected:         {false, true, false, true},
		FindingExceedsCeiling:     {false, true, true, true},
		FindingGuardrailViolation: {false, true, true, true},
		FindingUnusedPermission:   {false, false, false, false},
		FindingIneffectiveRule:    {false, false, false, false},
	}
	for typ, want := range tests {
		got := [4]bool{report.Reverts(typ), remove.Reverts(typ), Refuses(report.Unmanaged, typ), Refuses(remove.Unmanaged, typ)}
		if got != [4]bool{want.revertReport, want.revertRemove, want.refuseReport, want.refuseRemove} {
			t.Errorf("%s: reverts (report, remove) / refuses (report, remove) = %v, want %+v", typ, got, want)
		}
	}
}
