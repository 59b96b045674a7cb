package drift

import (
	"math/rand"
	"testing"
)

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

// TestIncrementalEqualsFull applies random changes one at a time and checks after
// each that the Evaluator holds exactly what a full evaluation of the resulting
// snapshot returns.
func TestIncrementalEqualsFull(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	for round := 0; round < rounds; round++ {
		g := &gen{data: randomBytes(rng, 4096)}
		spec := g.spec()
		w := g.world(30)
		// Every other round with usage data, so UnusedPermission findings, which read
		// a binding's role, follow role changes too.
		var usage Usage
		if round%2 == 1 {
			usage = hashUsage{}
		}
		e, err := NewEvaluator(&spec, usage)
		if err != nil {
			t.Fatal(err)
		}
		e.Load(w.snapshot())
		for step := 0; step < 40; step++ {
			var what string
			if len(w) > 0 && g.intn(3) == 0 {
				// Delete a random existing object.
				i, target := g.intn(len(w)), ObjectRef{}
				for ref := range sortedRefs(w) {
					if i == 0 {
						target = ref
						break
					}
					i--
				}
				delete(w, target)
				e.Delete(target)
				what = "delete " + target.String()
			} else {
				o := g.object()
				w[refOf(o)] = o
				if _, err := e.Upsert(o); err != nil {
					t.Fatal(err)
				}
				what = "upsert " + refOf(o).String()
			}
			want, err := Evaluate(&spec, w.snapshot(), usage)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Findings(); !findingsEqual(got, want) {
				t.Fatalf("round %d step %d (%s): incremental differs\nincremental:\n%v\nfull:\n%v", round, step, what, describeAll(got), describeAll(want))
			}
			if c, wc := e.Counts(), Count(want); c.Drifts != wc.Drifts || c.Violations != wc.Violations || c.Unused != wc.Unused || len(c.ByType) != len(wc.ByType) {
				t.Fatalf("round %d step %d: counts %+v, want %+v", round, step, c, wc)
			}
		}
	}
}

// sortedRefs iterates a world's references in a fixed order.
func sortedRefs(w world) func(func(ObjectRef) bool) {
	refs := make([]ObjectRef, 0, len(w))
	for r := range w {
		refs = append(refs, r)
	}
	sortRefs(refs)
	return func(yield func(ObjectRef) bool) {
		for _, r := range refs {
			if !yield(r) {
				return
			}
		}
	}
}
