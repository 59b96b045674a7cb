package drift

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// API caps of v1alpha1.Finding.
const (
	MaxFindingRules    = 10
	MaxFindingSubjects = 10
	MaxMessageLength   = 1024
)

// typeSeverity is the severity of drift and ceiling findings; guardrail findings take
// the severity of their catalog rule. Added privilege ranks above lost privilege.
var typeSeverity = map[v1alpha1.FindingType]v1alpha1.Severity{
	v1alpha1.FindingMissing:         v1alpha1.SeverityMedium,
	v1alpha1.FindingRulesAdded:      v1alpha1.SeverityHigh,
	v1alpha1.FindingRulesRemoved:    v1alpha1.SeverityLow,
	v1alpha1.FindingSubjectsAdded:   v1alpha1.SeverityHigh,
	v1alpha1.FindingSubjectsRemoved: v1alpha1.SeverityLow,
	v1alpha1.FindingRoleRefChanged:  v1alpha1.SeverityHigh,
	v1alpha1.FindingUnexpected:      v1alpha1.SeverityMedium,
	v1alpha1.FindingExceedsCeiling:  v1alpha1.SeverityHigh,
	// Advisory: a grant nobody used is a candidate for removal, not a breach.
	v1alpha1.FindingUnusedPermission: v1alpha1.SeverityLow,
	// Informational: grants nothing, so it endangers nothing; it misleads readers.
	v1alpha1.FindingIneffectiveRule: v1alpha1.SeverityLow,
}

// CompareFindings orders findings most severe first, then by type, object kind,
// namespace, name, guardrail and subject; the message breaks remaining ties so the
// order is total.
func CompareFindings(a, b *Finding) int {
	// Sorting thousands of findings mostly compares equal types: skip the ranks then.
	if a.Severity != b.Severity || a.Type != b.Type {
		if c := cmpInt(rankOf(a), rankOf(b)); c != 0 {
			return c
		}
	}
	return compareSameRank(a, b)
}

// rankOf orders by severity, then type; below numRanks.
func rankOf(f *Finding) int { return sevRank(f.Severity)*numTypes + typRank(f.Type) }

const numTypes, numRanks = 12, 5 * 12

// sortFindings sorts many findings in CompareFindings order: grouped by rank in one
// pass, then each group sorted on the fields that remain.
func sortFindings(fs []*Finding) {
	var start [numRanks + 1]int
	for _, f := range fs {
		start[rankOf(f)+1]++
	}
	for r := 1; r <= numRanks; r++ {
		start[r] += start[r-1]
	}
	grouped := make([]*Finding, len(fs))
	next := start
	for _, f := range fs {
		r := rankOf(f)
		grouped[next[r]] = f
		next[r]++
	}
	for r := range numRanks {
		slices.SortFunc(grouped[start[r]:start[r+1]], compareSameRank)
	}
	copy(fs, grouped)
}

// compareSameRank is CompareFindings for findings of equal severity and type.
func compareSameRank(a, b *Finding) int {
	if c := strings.Compare(a.Object.Kind, b.Object.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.Object.Namespace, b.Object.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Object.Name, b.Object.Name); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Guardrail), string(b.Guardrail)); c != 0 {
		return c
	}
	if c := compareOptional(a.Subject, b.Subject, compareSubjects); c != 0 {
		return c
	}
	if c := strings.Compare(a.text, b.text); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Rules, b.Rules, compareRules); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Subjects, b.Subjects, compareSubjects); c != 0 {
		return c
	}
	// What a derived message is made of, so that equal findings have equal messages.
	if c := compareOptional(a.via, b.via, compareSubjects); c != 0 {
		return c
	}
	if c := compareOptional(a.roleRef, b.roleRef, compareRoleRefs); c != 0 {
		return c
	}
	if c := cmpInt(int(a.unused), int(b.unused)); c != 0 {
		return c
	}
	return cmpInt(int(a.granted), int(b.granted))
}

// compareOptional orders nil first, then by cmp.
func compareOptional[T any](a, b *T, cmp func(T, T) int) int {
	switch {
	case a == b:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp(*a, *b)
}

func compareRoleRefs(a, b rbacv1.RoleRef) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func sevRank(s v1alpha1.Severity) int {
	switch s {
	case v1alpha1.SeverityCritical:
		return 0
	case v1alpha1.SeverityHigh:
		return 1
	case v1alpha1.SeverityMedium:
		return 2
	case v1alpha1.SeverityLow:
		return 3
	}
	return 4
}

// typRank orders types as the API declares them.
func typRank(t v1alpha1.FindingType) int {
	switch t {
	case v1alpha1.FindingMissing:
		return 0
	case v1alpha1.FindingRulesAdded:
		return 1
	case v1alpha1.FindingRulesRemoved:
		return 2
	case v1alpha1.FindingSubjectsAdded:
		return 3
	case v1alpha1.FindingSubjectsRemoved:
		return 4
	case v1alpha1.FindingRoleRefChanged:
		return 5
	case v1alpha1.FindingUnexpected:
		return 6
	case v1alpha1.FindingExceedsCeiling:
		return 7
	case v1alpha1.FindingGuardrailViolation:
		return 8
	case v1alpha1.FindingUnusedPermission:
		return 9
	case v1alpha1.FindingIneffectiveRule:
		return 10
	}
	return 11
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SortFindings sorts findings in place in the order of CompareFindings.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int { return CompareFindings(&a, &b) })
}

// ToAPI converts a finding to the API type, keeping to its caps: at most 10 rules and
// 10 subjects (the message says how many were left out) and a message of at most
// 1024 bytes.
func (f *Finding) ToAPI() v1alpha1.Finding {
	out := v1alpha1.Finding{
		Type:      f.Type,
		Object:    f.Object.API(),
		Severity:  f.Severity,
		Guardrail: f.Guardrail,
	}
	if f.Subject != nil {
		s := toAPISubject(*f.Subject)
		out.Subject = &s
	}
	msg := f.Message()
	for i, r := range f.Rules {
		if i == MaxFindingRules {
			msg += fmt.Sprintf(" (%d more rules not listed)", len(f.Rules)-MaxFindingRules)
			break
		}
		out.Rules = append(out.Rules, toAPIRule(r))
	}
	for i, s := range f.Subjects {
		if i == MaxFindingSubjects {
			msg += fmt.Sprintf(" (%d more subjects not listed)", len(f.Subjects)-MaxFindingSubjects)
			break
		}
		out.Subjects = append(out.Subjects, toAPISubject(s))
	}
	out.Message = text.Truncate(msg, MaxMessageLength)
	return out
}

// ToAPI converts the first limit findings (already sorted) to API findings and
// returns how many were left out.
func ToAPI(fs []Finding, limit int) (out []v1alpha1.Finding, omitted int32) {
	n := min(len(fs), limit)
	out = make([]v1alpha1.Finding, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, fs[i].ToAPI())
	}
	return out, int32(len(fs) - n)
}

// Count sums findings by type, as status.counts wants them.
func Count(fs []Finding) v1alpha1.FindingCounts {
	c := v1alpha1.FindingCounts{}
	for i := range fs {
		addCount(&c, fs[i].Type, 1)
	}
	return c
}

func addCount(c *v1alpha1.FindingCounts, t v1alpha1.FindingType, d int32) {
	switch {
	case t.IsDrift():
		c.Drifts += d
	case t.IsViolation():
		c.Violations += d
	case t == v1alpha1.FindingUnusedPermission:
		c.Unused += d
	}
	if c.ByType == nil {
		c.ByType = map[v1alpha1.FindingType]int32{}
	}
	c.ByType[t] += d
	if c.ByType[t] == 0 {
		delete(c.ByType, t)
	}
}

// findingsEqual reports whether two finding lists are the same, element by element.
func findingsEqual(a, b []Finding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !findingEqual(&a[i], &b[i]) {
			return false
		}
	}
	return true
}

func findingEqual(a, b *Finding) bool { return CompareFindings(a, b) == 0 }
