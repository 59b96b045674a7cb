package report

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

func TestReportedSetApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	role := func(name string, typ v1alpha1.FindingType, msg string) drift.Finding {
		return drift.NewFinding(typ, drift.ObjectRef{Kind: drift.KindRole, Namespace: "ns", Name: name}, msg)
	}
	ceiling := func(user string) drift.Finding {
		return drift.Finding{Type: v1alpha1.FindingExceedsCeiling, Object: drift.ObjectRef{Kind: drift.KindRoleBinding, Namespace: "ns", Name: "b"},
			Subject: &rbacv1.Subject{Kind: rbacv1.UserKind, Name: user}}
	}
	a, aChanged := role("a", v1alpha1.FindingRulesAdded, "1 rule"), role("a", v1alpha1.FindingRulesAdded, "2 rules")
	b := role("b", v1alpha1.FindingUnexpected, "")

	tests := map[string]struct {
		start            []drift.Finding
		added, removed   []drift.Finding
		wantFresh        []string
		wantResolved     []string
		wantFirst        map[string]time.Time // object name or subject -> first seen
		wantReportedKeys int
	}{
		"a new finding is fresh and first seen now": {
			added: []drift.Finding{a}, wantFresh: []string{"a"}, wantFirst: map[string]time.Time{"a": t1}, wantReportedKeys: 1,
		},
		"a recomputed finding keeps its first-seen time and is neither fresh nor resolved": {
			start: []drift.Finding{a}, added: []drift.Finding{aChanged}, removed: []drift.Finding{a},
			wantFirst: map[string]time.Time{"a": t0}, wantReportedKeys: 1,
		},
		"a removed finding is resolved": {
			start: []drift.Finding{a, b}, removed: []drift.Finding{b}, wantResolved: []string{"b"}, wantReportedKeys: 1,
		},
		"a finding added and taken back in one batch (an admission preview) leaves no trace": {
			start: []drift.Finding{a}, added: []drift.Finding{b, aChanged, a}, removed: []drift.Finding{a, b, aChanged},
			wantFirst: map[string]time.Time{"a": t0}, wantReportedKeys: 1,
		},
		"ceilings are told apart by subject": {
			start: []drift.Finding{ceiling("alice")}, added: []drift.Finding{ceiling("bob")}, removed: []drift.Finding{ceiling("alice")},
			wantFresh: []string{"bob"}, wantResolved: []string{"alice"}, wantReportedKeys: 1,
		},
	}
	name := func(k findingKey) string {
		if k.subject != "" {
			return k.subject[len("User//"):]
		}
		return k.object.Name
	}
	for desc, tc := range tests {
		t.Run(desc, func(t *testing.T) {
			rs, _, _ := rebuild(nil, tc.start, t0)
			fresh, resolved := rs.apply(tc.added, tc.removed, t1)
			var gotFresh, gotResolved []string
			for i := range fresh {
				gotFresh = append(gotFresh, name(keyOfDrift(&fresh[i])))
			}
			for _, k := range resolved {
				gotResolved = append(gotResolved, name(k))
			}
			if len(gotFresh) != len(tc.wantFresh) || (len(gotFresh) > 0 && gotFresh[0] != tc.wantFresh[0]) {
				t.Errorf("fresh = %v, want %v", gotFresh, tc.wantFresh)
			}
			if len(gotResolved) != len(tc.wantResolved) || (len(gotResolved) > 0 && gotResolved[0] != tc.wantResolved[0]) {
				t.Errorf("resolved = %v, want %v", gotResolved, tc.wantResolved)
			}
			if len(rs) != tc.wantReportedKeys {
				t.Errorf("%d keys reported, want %d", len(rs), tc.wantReportedKeys)
			}
			for k := range rs {
				if want, ok := tc.wantFirst[name(k)]; ok && !rs[k].first.Equal(want) {
					t.Errorf("%s first seen %s, want %s", name(k), rs[k].first, want)
				}
			}
		})
	}
}
