package drift

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func TestPreview(t *testing.T) {
	declared := v1alpha1.RoleBaselineSpec{Scope: teamNS, Guardrails: noGuardrails, Unmanaged: v1alpha1.UnmanagedReport,
		Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "reader", Rules: ToAPIRules(readPods)}},
		Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "readers",
			RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "reader"}, Subjects: apiSubjects(group("devs"))}}}
	ceiling := v1alpha1.RoleBaselineSpec{Scope: teamNS, Guardrails: noGuardrails,
		Subjects: []v1alpha1.SubjectCeiling{{Subject: apiSubject(user("ci")), Rules: ToAPIRules(readPods)}}}
	inSync := Snapshot{Namespaces: teamNSObjs,
		Roles: []rbacv1.Role{role("team-a", "reader", readPods), role("team-b", "reader", readPods)},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "readers", roleRef(KindRole, "reader"), group("devs")),
			roleBinding("team-b", "readers", roleRef(KindRole, "reader"), group("devs"))}}
	drifted := inSync
	drifted.Roles = []rbacv1.Role{role("team-a", "reader", readPods, pr(ss(""), ss("secrets"), ss("get"))), role("team-b", "reader", readPods)}
	ciBound := Snapshot{Namespaces: teamNSObjs, ClusterRoles: []rbacv1.ClusterRole{clusterRole("viewer", readPods)},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "ci", roleRef(KindClusterRole, "viewer"), user("ci"))}}
	wideRole := clusterRole("viewer", readPods, pr(ss(""), ss("secrets"), ss("list")))

	tests := map[string]struct {
		spec    v1alpha1.RoleBaselineSpec
		snap    Snapshot
		obj     runtime.Object
		deleted bool
		want    []string
	}{
		"in sync, same object again": {spec: declared, snap: inSync, obj: ptrTo(role("team-a", "reader", readPods))},
		"rules added": {spec: declared, snap: inSync, obj: ptrTo(role("team-a", "reader", readPods, pr(ss(""), ss("secrets"), ss("get")))),
			want: []string{"RulesAdded Role team-a/reader rules=get secrets [core]"}},
		"declared role deleted": {spec: declared, snap: inSync, obj: ptrTo(role("team-b", "reader", readPods)), deleted: true,
			want: []string{"Missing Role team-b/reader"}},
		"subject added": {spec: declared, snap: inSync,
			obj:  ptrTo(roleBinding("team-a", "readers", roleRef(KindRole, "reader"), group("devs"), user("mallory"))),
			want: []string{"SubjectsAdded RoleBinding team-a/readers subjects=User mallory"}},
		"undeclared object": {spec: declared, snap: inSync, obj: ptrTo(role("team-a", "extra", readPods)),
			want: []string{"Unexpected Role team-a/extra"}},
		"out of scope namespace":                    {spec: declared, snap: inSync, obj: ptrTo(role("other", "extra", readPods))},
		"fix that removes drift introduces nothing": {spec: declared, snap: drifted, obj: ptrTo(role("team-a", "reader", readPods))},
		"partial fix keeps only what is new": {spec: declared, snap: drifted,
			obj:  ptrTo(role("team-a", "reader", readPods, pr(ss(""), ss("configmaps"), ss("get")))),
			want: []string{"RulesAdded Role team-a/reader rules=get configmaps [core]"}},
		"role widened beyond a ceiling through an out-of-scope ClusterRole": {spec: ceiling, snap: ciBound, obj: &wideRole,
			want: []string{"ExceedsCeiling RoleBinding team-a/ci subject=User ci rules=list secrets [core]"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := NewEvaluator(&tc.spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.Load(&tc.snap)
			before := describeAll(e.Findings())
			got, err := e.Preview(tc.obj, tc.deleted)
			if err != nil {
				t.Fatal(err)
			}
			if g := describeAll(got); !slices.Equal(g, tc.want) && (len(g) > 0 || len(tc.want) > 0) {
				t.Errorf("Preview = %q, want %q", g, tc.want)
			}
			if after := describeAll(e.Findings()); !slices.Equal(after, before) {
				t.Errorf("Preview changed the findings:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

func TestPreviewRejectsUnknownTypes(t *testing.T) {
	e, err := NewEvaluator(&v1alpha1.RoleBaselineSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Preview(&corev1.ConfigMap{}, false); err == nil {
		t.Fatal("Preview of a ConfigMap succeeded, want an error")
	}
	// A namespace the scope starts selecting needs its objects fed, which Preview cannot.
	if _, err := e.Preview(ptrTo(namespace("n1", "team", "x")), false); err == nil {
		t.Fatal("Preview of a Namespace succeeded, want an error")
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestPreviewEqualsFullDifference checks on random worlds and changes that Preview
// returns exactly the findings of a full evaluation after the change that a full
// evaluation before it lacks, and leaves the Evaluator's findings as they were (also
// for later incremental changes).
func TestPreviewEqualsFullDifference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	rounds := 200
	if testing.Short() {
		rounds = 40
	}
	for round := 0; round < rounds; round++ {
		g := &gen{data: randomBytes(rng, 4096)}
		spec := g.spec()
		w := g.world(30)
		e := loaded(t, &spec, w.snapshot(), nil)
		// commit makes the step's change for real.
		commit := func(next world, obj runtime.Object, deleted bool) {
			w = next
			if deleted {
				e.Delete(refOf(obj))
			} else if _, err := e.Upsert(obj); err != nil {
				t.Fatal(err)
			}
			feed(t, e, w.objects())
		}
		for step := 0; step < 30; step++ {
			before, err := Evaluate(&spec, w.snapshot(), nil)
			if err != nil {
				t.Fatal(err)
			}
			next := world{}
			for k, v := range w {
				next[k] = v
			}
			var obj runtime.Object
			deleted := len(w) > 0 && g.intn(3) == 0
			if deleted {
				obj = w[w.nth(g.intn(len(w)))]
				delete(next, refOf(obj))
			} else {
				obj = g.object()
				next[refOf(obj)] = obj
			}
			if refOf(obj).Kind == KindNamespace {
				// Namespaces are not previewed (their objects may need feeding): apply it.
				if _, err := e.Preview(obj, deleted); err == nil {
					t.Fatal("Preview of a namespace: want an error")
				}
				commit(next, obj, deleted)
				continue
			}
			after, err := Evaluate(&spec, next.snapshot(), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.Changes() // drain what the previous step logged
			got, err := e.Preview(obj, deleted)
			if err != nil {
				t.Fatal(err)
			}
			if added, removed, _ := e.Changes(); len(added)+len(removed) > 0 {
				t.Fatalf("round %d step %d: Preview left %d added and %d removed findings in the Changes log", round, step, len(added), len(removed))
			}
			want := multisetMinus(after, before)
			if !findingsEqual(got, want) {
				t.Fatalf("round %d step %d (deleted=%v %s): Preview differs\npreview:\n%v\nfull difference:\n%v",
					round, step, deleted, refOf(obj), describeAll(got), describeAll(want))
			}
			if now := e.Findings(); !findingsEqual(now, before) {
				t.Fatalf("round %d step %d: Preview changed the findings\nnow:\n%v\nbefore:\n%v", round, step, describeAll(now), describeAll(before))
			}
			// Half the time the change really happens, so later previews start from varied states.
			if g.bool() {
				commit(next, obj, deleted)
			}
		}
	}
}

// multisetMinus returns the findings of a not in b; both are sorted by CompareFindings.
func multisetMinus(a, b []Finding) []Finding {
	var out []Finding
	j := 0
	for i := range a {
		for j < len(b) && CompareFindings(&b[j], &a[i]) < 0 {
			j++
		}
		if j < len(b) && CompareFindings(&b[j], &a[i]) == 0 {
			j++
			continue
		}
		out = append(out, a[i])
	}
	return out
}

// TestPreviewManyGrants previews a ClusterRole granted by more bindings than Preview
// records by scanning, so its undo looks the recorded findings up by index.
func TestPreviewManyGrants(t *testing.T) {
	spec := v1alpha1.RoleBaselineSpec{Scope: teamNS, Guardrails: noGuardrails,
		Subjects: []v1alpha1.SubjectCeiling{{Subject: apiSubject(user("ci")), Rules: ToAPIRules(readPods)}}}
	snap := Snapshot{Namespaces: teamNSObjs, ClusterRoles: []rbacv1.ClusterRole{clusterRole("viewer", readPods)}}
	for i := range 3 * recordScan {
		snap.RoleBindings = append(snap.RoleBindings, roleBinding("team-a", fmt.Sprintf("ci-%03d", i), roleRef(KindClusterRole, "viewer"), user("ci")))
	}
	e := loaded(t, &spec, &snap, nil)
	before := describeAll(e.Findings())
	wide := clusterRole("viewer", readPods, pr(ss(""), ss("secrets"), ss("list")))
	for range 2 { // twice: the second preview starts from the first one's undo
		got, err := e.Preview(&wide, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3*recordScan {
			t.Fatalf("Preview found %d ExceedsCeiling findings, want one per binding (%d): %v", len(got), 3*recordScan, describeAll(got))
		}
		if after := describeAll(e.Findings()); !slices.Equal(after, before) {
			t.Fatalf("Preview changed the findings:\nbefore %q\nafter  %q", before, after)
		}
	}
	// The undo left a working evaluator: a real change still yields the same findings.
	if _, err := e.Upsert(&wide); err != nil {
		t.Fatal(err)
	}
	want, err := Evaluate(&spec, &Snapshot{Namespaces: snap.Namespaces, ClusterRoles: []rbacv1.ClusterRole{wide}, RoleBindings: snap.RoleBindings}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Findings(); !findingsEqual(got, want) {
		t.Fatalf("after the previews, a real change differs from a full evaluation:\n%v\n%v", describeAll(got), describeAll(want))
	}
}
