package drift

import (
	"testing"
)

// FuzzEvaluate draws a baseline and a snapshot from the fuzzer's bytes and checks
// that evaluation does not panic, is deterministic, returns sorted findings that fit
// the API's caps, and that building the same state object by object gives the same
// findings.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("rbac-guardrails"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		spec := g.spec()
		w := g.world(24)
		snap := w.snapshot()
		first, err := Evaluate(&spec, snap, nil)
		if err != nil {
			return
		}
		second, _ := Evaluate(&spec, snap, nil)
		if !findingsEqual(first, second) {
			t.Fatalf("not deterministic:\n%v\n%v", describeAll(first), describeAll(second))
		}
		for i := range first {
			if i > 0 && CompareFindings(&first[i-1], &first[i]) > 0 {
				t.Fatalf("not sorted at %d: %s > %s", i, describe(first[i-1]), describe(first[i]))
			}
			a := first[i].ToAPI()
			if len(a.Rules) > MaxFindingRules || len(a.Subjects) > MaxFindingSubjects || len(a.Message) > MaxMessageLength {
				t.Fatalf("finding over the API caps: %+v", a)
			}
		}
		e := incremental(t, &spec, snap)
		if got := e.Findings(); !findingsEqual(got, first) {
			t.Fatalf("incremental differs:\n%v\n%v", describeAll(got), describeAll(first))
		}
		for _, o := range snapshotObjects(snap) {
			e.Delete(refOf(o))
		}
		// Without objects, only Missing findings of cluster-scoped declarations remain.
		for _, f := range e.Findings() {
			if f.Type != "Missing" || f.Object.Namespace != "" {
				t.Fatalf("left after deleting everything: %s", describe(f))
			}
		}
	})
}
