package drift

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func listFinding(typ v1alpha1.FindingType, name string) Finding {
	return NewFinding(typ, ObjectRef{Kind: KindRole, Namespace: "ns", Name: name}, name)
}

func (l *findingList) check(t *testing.T, want map[*Finding]bool) {
	t.Helper()
	if !slices.IsSortedFunc(l.sorted, CompareFindings) {
		t.Fatal("not sorted")
	}
	if len(l.sorted) != len(want) {
		t.Fatalf("%d findings, want %d", len(l.sorted), len(want))
	}
	var c v1alpha1.FindingCounts
	for _, f := range l.sorted {
		if !want[f] {
			t.Fatalf("holds %s, which left", f.Message())
		}
		addCount(&c, f.Type, 1)
	}
	if c.Drifts != l.counts.Drifts || c.Violations != l.counts.Violations || len(c.ByType) != len(l.counts.ByType) {
		t.Fatalf("counts %+v, want %+v", l.counts, c)
	}
}

// TestFindingListFollowsChanges: random replacements, few (binary search) and many
// (merge) at a time, keep the list sorted, counted and logged.
func TestFindingListFollowsChanges(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	types := []v1alpha1.FindingType{v1alpha1.FindingMissing, v1alpha1.FindingRulesAdded, v1alpha1.FindingGuardrailViolation, v1alpha1.FindingUnusedPermission}
	owned := map[int][]Finding{} // what an owner keeps, by object
	live := map[*Finding]bool{}
	var l findingList
	l.reset(nil)
	if _, _, full := l.changes(); !full {
		t.Fatal("reset must leave the log full")
	}
	for step := range 400 {
		obj := rng.Intn(50)
		var now []Finding
		for range rng.Intn(3) {
			now = append(now, listFinding(types[rng.Intn(len(types))], fmt.Sprint(obj, "-", rng.Intn(3))))
		}
		wantAdded, wantRemoved := len(now), 0
		if step%25 == 0 {
			// A fan-out: many objects at once, applied by one merge.
			for o := range 20 {
				old := owned[o]
				next := []Finding{listFinding(types[rng.Intn(len(types))], fmt.Sprint(o, "-fan"))}
				l.replace(old, next)
				wantAdded, wantRemoved = wantAdded+len(next), wantRemoved+len(old)
				for i := range old {
					delete(live, &old[i])
				}
				owned[o] = next
				for i := range next {
					live[&owned[o][i]] = true
				}
			}
		}
		old := owned[obj]
		wantRemoved += len(old)
		l.replace(old, now)
		for i := range old {
			delete(live, &old[i])
		}
		owned[obj] = now
		for i := range now {
			live[&now[i]] = true
		}
		l.flush()
		l.check(t, live)
		added, removed, full := l.changes()
		if full || len(added) != wantAdded || len(removed) != wantRemoved {
			t.Fatalf("step %d log: %d added, %d removed, full %v", step, len(added), len(removed), full)
		}
	}
	if a, r, _ := l.changes(); len(a)+len(r) != 0 {
		t.Fatal("changes must empty the log")
	}
}

// TestFindingListRewind: what a Preview logs and undoes leaves no trace in the log.
func TestFindingListRewind(t *testing.T) {
	var l findingList
	l.reset(nil)
	l.changes()
	kept := []Finding{listFinding(v1alpha1.FindingMissing, "a")}
	l.replace(nil, kept)
	l.flush()
	m := l.mark()
	tmp := []Finding{listFinding(v1alpha1.FindingRulesAdded, "b")}
	l.replace(nil, tmp)
	l.replace(tmp, nil)
	l.netPending() // b entered and left: nothing to apply
	if len(l.pendingAdd)+len(l.pendingDel) != 0 {
		t.Fatalf("netPending left %d added, %d deleted", len(l.pendingAdd), len(l.pendingDel))
	}
	l.flush()
	l.rewind(m)
	added, removed, _ := l.changes()
	if len(added) != 1 || added[0].Object.Name != "a" || len(removed) != 0 {
		t.Fatalf("log after rewind: added %v, removed %v", added, removed)
	}
	l.check(t, map[*Finding]bool{&kept[0]: true})
}

// TestFindingListLogOverflows: a log nobody drains is dropped for a fresh start.
func TestFindingListLogOverflows(t *testing.T) {
	var l findingList
	l.reset(nil)
	l.changes()
	f := []Finding{listFinding(v1alpha1.FindingMissing, "a")}
	for range 600 {
		l.replace(f, f)
	}
	if _, _, full := l.changes(); !full {
		t.Fatal("an undrained log past its bound must say full")
	}
}

func TestDifference(t *testing.T) {
	a, b, c := listFinding(v1alpha1.FindingMissing, "a"), listFinding(v1alpha1.FindingMissing, "b"), listFinding(v1alpha1.FindingMissing, "c")
	a2 := a // equal by value, another identity
	got := difference([]*Finding{&a, &b, &c}, []*Finding{&a2, &c})
	if len(got) != 1 || got[0].Object.Name != "b" {
		t.Fatalf("difference %v", got)
	}
}
