package drift

import (
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
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
	rounds := 500
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
		e := loaded(t, &spec, w.snapshot(), usage)
		// tracked follows the findings through Changes alone, as the controller does.
		tracked := map[string]int{}
		if _, _, full := e.Changes(); !full {
			t.Fatal("Changes after Load must say full")
		}
		for _, f := range e.Findings() {
			tracked[describe(f)]++
		}
		for step := 0; step < 40; step++ {
			var what string
			if len(w) > 0 && g.intn(3) == 0 {
				// Delete a random existing object.
				target := w.nth(g.intn(len(w)))
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
			feed(t, e, w.objects())
			want, err := Evaluate(&spec, w.snapshot(), usage)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Findings(); !findingsEqual(got, want) {
				t.Fatalf("round %d step %d (%s): incremental differs\nincremental:\n%v\nfull:\n%v", round, step, what, describeAll(got), describeAll(want))
			}
			added, removed, full := e.Changes()
			if full {
				t.Fatalf("round %d step %d: Changes says full without a Load", round, step)
			}
			for _, f := range removed {
				tracked[describe(f)]--
			}
			for _, f := range added {
				tracked[describe(f)]++
			}
			wantTracked := map[string]int{}
			for _, f := range want {
				wantTracked[describe(f)]++
			}
			for k, n := range tracked {
				if n != wantTracked[k] {
					t.Fatalf("round %d step %d (%s): following Changes gives %d of %s, want %d", round, step, what, n, k, wantTracked[k])
				}
				if n == 0 {
					delete(tracked, k)
				}
			}
			if len(tracked) != len(wantTracked) {
				t.Fatalf("round %d step %d (%s): following Changes gives %d distinct findings, want %d", round, step, what, len(tracked), len(wantTracked))
			}
			byObject := map[ObjectRef][]Finding{}
			for _, f := range want {
				byObject[f.Object] = append(byObject[f.Object], f)
			}
			for ref, fs := range byObject {
				if got := e.ObjectFindings(ref); !findingsEqual(got, fs) {
					t.Fatalf("round %d step %d (%s): ObjectFindings(%s) differs\ngot:\n%v\nwant:\n%v", round, step, what, ref, describeAll(got), describeAll(fs))
				}
			}
			for ref := range w {
				if _, has := byObject[ref]; !has && len(e.ObjectFindings(ref)) > 0 {
					t.Fatalf("round %d step %d (%s): ObjectFindings(%s) not empty: %v", round, step, what, ref, describeAll(e.ObjectFindings(ref)))
				}
			}
			if c, wc := e.Counts(), Count(want); c.Drifts != wc.Drifts || c.Violations != wc.Violations || c.Unused != wc.Unused || len(c.ByType) != len(wc.ByType) {
				t.Fatalf("round %d step %d: counts %+v, want %+v", round, step, c, wc)
			}
		}
	}
}

// nth returns the i-th of a world's references in a fixed order.
func (w world) nth(i int) ObjectRef {
	refs := make([]ObjectRef, 0, len(w))
	for r := range w {
		refs = append(refs, r)
	}
	sortRefs(refs)
	return refs[i]
}

// TestNamespaceLeavesScopeWithSharedRole: a namespace leaving the scope drops its Role
// before the bindings that grant it, and each of those bindings leaves the grant index
// while the Role's bindings are being re-checked.
func TestNamespaceLeavesScopeWithSharedRole(t *testing.T) {
	gold := &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	for name, usage := range map[string]Usage{"with usage": usedSet{}, "with a ceiling": nil} {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{NamespaceSelector: gold}, Guardrails: noGuardrails}
			if usage == nil {
				spec.Subjects = []v1alpha1.SubjectCeiling{{Subject: v1alpha1.Subject{Kind: v1alpha1.SubjectUser, Name: "u"}}}
			}
			e, err := NewEvaluator(&spec, usage)
			if err != nil {
				t.Fatal(err)
			}
			ref := roleRef("Role", "r")
			e.Load(&Snapshot{Namespaces: []corev1.Namespace{namespace("a", "tier", "gold")},
				Roles: []rbacv1.Role{role("a", "r", readPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "b1", ref, user("u")), roleBinding("a", "b2", ref, user("u")),
					roleBinding("a", "b3", ref, user("u"))}})
			if e.Len() != 3 {
				t.Fatalf("%d findings before, want one per binding: %v", e.Len(), describeAll(e.Findings()))
			}
			if _, err := e.Upsert(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}); err != nil {
				t.Fatal(err)
			}
			if e.Len() != 0 {
				t.Fatalf("findings left after the namespace left the scope: %v", describeAll(e.Findings()))
			}
		})
	}
}

// TestNamespaceChurnEqualsFull is TestIncrementalEqualsFull where it is hardest: the
// scope selects namespaces by label, every in-scope binding is in the grant index
// (usage data), and most changes relabel a namespace in or out of the selection.
func TestNamespaceChurnEqualsFull(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 150; round++ {
		g := &gen{data: randomBytes(rng, 4096)}
		spec := g.spec()
		spec.Scope.Namespaces, spec.Scope.NamespaceSelector = nil, &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
		w := g.world(40)
		e := loaded(t, &spec, w.snapshot(), hashUsage{})
		for step := 0; step < 30; step++ {
			var o runtime.Object
			if g.intn(3) == 0 {
				o = g.object()
			} else {
				n := namespace(g.pick(genNamespaces), "tier", g.pick(genTiers))
				o = &n
			}
			w[refOf(o)] = o
			if _, err := e.Upsert(o); err != nil {
				t.Fatal(err)
			}
			feed(t, e, w.objects())
			want, err := Evaluate(&spec, w.snapshot(), hashUsage{})
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Findings(); !findingsEqual(got, want) {
				t.Fatalf("round %d step %d (upsert %s): incremental differs\nincremental:\n%v\nfull:\n%v",
					round, step, refOf(o), messages(got), messages(want))
			}
		}
	}
}
