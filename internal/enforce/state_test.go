package enforce

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func record(entry string, at time.Duration) v1alpha1.JournalRecord {
	return v1alpha1.JournalRecord{Entry: entry, Action: v1alpha1.RevertUpdate, Time: metav1.NewTime(t0.Add(at))}
}

func entries(rs []v1alpha1.JournalRecord) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Entry)
	}
	return strings.Join(out, ",")
}

func TestMergeJournal(t *testing.T) {
	many := func(prefix string, n int, from time.Duration) []v1alpha1.JournalRecord {
		var out []v1alpha1.JournalRecord
		for i := n - 1; i >= 0; i-- {
			out = append(out, record(prefix+string(rune('a'+i)), from+time.Duration(i)*time.Second))
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		recent, listed []v1alpha1.JournalRecord
		want           string
	}{
		{"nothing new keeps the status", nil, []v1alpha1.JournalRecord{record("x", 0)}, "x"},
		{"new records come first", []v1alpha1.JournalRecord{record("b", 2*time.Second)}, []v1alpha1.JournalRecord{record("a", time.Second)}, "b,a"},
		{"a record already listed is listed once (a failed write retried)",
			[]v1alpha1.JournalRecord{record("b", 2*time.Second), record("a", time.Second)}, []v1alpha1.JournalRecord{record("a", time.Second)}, "b,a"},
		{"newest first whatever the lists' order",
			[]v1alpha1.JournalRecord{record("a", time.Second)}, []v1alpha1.JournalRecord{record("c", 3*time.Second)}, "c,a"},
		{"capped at MaxJournalRecords, the oldest dropped", many("n", 15, 100*time.Second), many("o", 15, 0),
			entries(many("n", 15, 100*time.Second)) + "," + entries(many("o", 15, 0)[:MaxJournalRecords-15])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeJournal(tc.recent, tc.listed)
			if entries(got) != tc.want {
				t.Fatalf("merged %s, want %s", entries(got), tc.want)
			}
			if len(got) > MaxJournalRecords {
				t.Fatalf("%d records, above the cap", len(got))
			}
		})
	}
}

// Report is what the status controller writes after a revert pass; it must say the
// most serious outcome and be the same when repeated.
func TestReportCondition(t *testing.T) {
	ref := drift.ObjectRef{Kind: drift.KindRole, Namespace: "a", Name: "app"}
	other := drift.ObjectRef{Kind: drift.KindRoleBinding, Namespace: "a", Name: "app"}
	person := revert.Writer{Kind: revert.WriterPerson, User: "alice"}
	for _, tc := range []struct {
		name     string
		outcomes map[drift.ObjectRef]outcome
		fight    bool
		reason   string
		reverted bool
	}{
		{"nothing to do", nil, false, v1alpha1.ReasonReverted, false},
		{"a revert applied", map[drift.ObjectRef]outcome{ref: {kind: outcomeReverted, msg: "Role a/app"}}, false, v1alpha1.ReasonReverted, true},
		{"a failure wins over everything", map[drift.ObjectRef]outcome{ref: {kind: outcomeFailed, msg: "boom"},
			other: {kind: outcomeRateLimited, msg: "RoleBinding a/app"}}, true, v1alpha1.ReasonRevertFailed, false},
		{"a fight wins over the budget", map[drift.ObjectRef]outcome{other: {kind: outcomeRateLimited, msg: "x"}}, true, v1alpha1.ReasonRevertLoopDetected, false},
		{"the budget wins over a skip", map[drift.ObjectRef]outcome{ref: {kind: outcomeRateLimited, msg: "x"},
			other: {kind: outcomeSkipped, msg: "y"}}, false, v1alpha1.ReasonRateLimited, false},
		{"a skip", map[drift.ObjectRef]outcome{other: {kind: outcomeSkipped, msg: "y"}}, false, v1alpha1.ReasonRevertSkipped, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState("uid")
			for r, o := range tc.outcomes {
				s.outcomes[r] = o
			}
			if tc.fight {
				g := s.guardOf(ref)
				for i := range revert.LoopThreshold {
					g.Reverted(t0.Add(time.Duration(i)*time.Second), person)
				}
			}
			s.recent = []v1alpha1.JournalRecord{record("e1", 0)}
			rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Status: v1alpha1.RoleBaselineStatus{
				Findings: []v1alpha1.Finding{{Type: v1alpha1.FindingRulesAdded, Object: ref.API()}}}}
			now := t0.Add(5 * time.Second)
			s.Report(rb, now)
			first := rb.Status.DeepCopy()
			s.Report(rb, now)
			c := meta.FindStatusCondition(rb.Status.Conditions, v1alpha1.ConditionEnforced)
			if c == nil || c.Reason != tc.reason || c.ObservedGeneration != 3 {
				t.Fatalf("Enforced = %+v, want reason %s", c, tc.reason)
			}
			if rb.Status.Findings[0].Reverted != tc.reverted {
				t.Fatalf("reverted = %v, want %v", rb.Status.Findings[0].Reverted, tc.reverted)
			}
			if entries(rb.Status.Journal) != "e1" || entries(first.Journal) != "e1" {
				t.Fatalf("journal %s after two reports, want e1 once", entries(rb.Status.Journal))
			}
		})
	}
}
