package registry

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var (
	readPods    = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}
	readSecrets = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	t0          = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
)

func role(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

// team declares the Role app in team-a, reporting undeclared objects.
func team(name string, mode v1alpha1.Mode) *v1alpha1.RoleBaseline {
	return &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Generation: 1},
		Spec: v1alpha1.RoleBaselineSpec{Mode: mode, Scope: v1alpha1.Scope{Namespaces: []string{"team-a"}},
			Unmanaged: v1alpha1.UnmanagedReport, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "app", Rules: drift.ToAPIRules(readPods)}}}}
}

func world() *drift.Snapshot {
	return &drift.Snapshot{Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}},
		Roles: []rbacv1.Role{*role("team-a", "app", readPods)}}
}

func loaded(t *testing.T, rbs ...*v1alpha1.RoleBaseline) (*Registry, *[]Change) {
	t.Helper()
	r := New(nil)
	var got []Change
	r.Subscribe(func(c Change) { got = append(got, c) })
	for _, rb := range rbs {
		if e := r.Load(rb, func() (*drift.Snapshot, error) { return world(), nil }, t0); e.Err != nil {
			t.Fatal(e.Err)
		}
	}
	return r, &got
}

func TestApplyTellsOnlyTheBaselinesWhoseFindingsMoved(t *testing.T) {
	r, got := loaded(t, team("team", v1alpha1.ModeEnforce))
	entry := r.Get("team")
	entry.Read(func(ev *drift.Evaluator) { entry.TakeChanges(ev) }) // the load's own changes

	r.Apply(role("elsewhere", "app", readSecrets), false, t0.Add(time.Second))
	if len(*got) != 0 {
		t.Fatalf("a change out of scope was announced: %+v", *got)
	}

	drifted := role("team-a", "app", readPods, readSecrets)
	r.Apply(drifted, false, t0.Add(2*time.Second))
	want := drift.ObjectRef{Kind: drift.KindRole, Namespace: "team-a", Name: "app"}
	if len(*got) != 1 || (*got)[0].Baseline != "team" || (*got)[0].Object != want || (*got)[0].Spec.Mode != v1alpha1.ModeEnforce {
		t.Fatalf("changes = %+v, want one for team on %v", *got, want)
	}
	entry.Read(func(ev *drift.Evaluator) {
		added, removed, full, since := entry.TakeChanges(ev)
		if full || len(added) != 1 || added[0].Type != v1alpha1.FindingRulesAdded || len(removed) != 0 {
			t.Fatalf("change log: added %v removed %v full %v, want one RulesAdded", added, removed, full)
		}
		if !since.Equal(t0.Add(2 * time.Second)) {
			t.Fatalf("since = %v, want the time of the change", since)
		}
	})

	r.Apply(drifted, false, t0.Add(3*time.Second))
	if len(*got) != 1 {
		t.Fatalf("the same object again was announced: %+v", *got)
	}
	r.Apply(role("team-a", "app", readPods), true, t0.Add(4*time.Second))
	if len(*got) != 2 {
		t.Fatalf("a deletion of a declared role was not announced: %+v", *got)
	}
}

func TestPreviewJudgesWithoutChanging(t *testing.T) {
	r, got := loaded(t, team("b", v1alpha1.ModeAudit), team("a", v1alpha1.ModeEnforce))
	v := r.Preview(role("team-a", "app", readPods, readSecrets), false)
	if len(v) != 2 || v[0].Baseline != "a" || v[1].Baseline != "b" || v[0].Mode != v1alpha1.ModeEnforce || v[1].Mode != v1alpha1.ModeAudit {
		t.Fatalf("verdicts = %+v, want a (Enforce) then b (Audit)", v)
	}
	if len(v[0].Findings) != 1 || v[0].Findings[0].Type != v1alpha1.FindingRulesAdded {
		t.Fatalf("findings = %+v, want one RulesAdded", v[0].Findings)
	}
	if len(*got) != 0 {
		t.Fatalf("Preview announced changes: %+v", *got)
	}
	r.Get("a").Read(func(ev *drift.Evaluator) {
		if n := ev.Len(); n != 0 {
			t.Fatalf("Preview left %d findings behind", n)
		}
	})
	if v := r.Preview(role("team-a", "app", readPods), false); len(v) != 0 {
		t.Fatalf("a change that keeps the baseline in sync got verdicts: %+v", v)
	}
	if v := r.Preview(&corev1.ConfigMap{}, false); v != nil {
		t.Fatalf("a ConfigMap got verdicts: %+v", v)
	}
}

func TestLoadFailures(t *testing.T) {
	r := New(nil)
	bad := team("bad", v1alpha1.ModeAudit)
	bad.Spec.Scope.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}
	e := r.Load(bad, func() (*drift.Snapshot, error) { return world(), nil }, t0)
	if e.Err == nil || e.Stale || e.Usable() {
		t.Fatalf("invalid spec: Err %v Stale %v Usable %v, want an error that is not stale", e.Err, e.Stale, e.Usable())
	}
	e = r.Load(team("down", v1alpha1.ModeAudit), func() (*drift.Snapshot, error) { return nil, errors.New("cache not started") }, t0)
	if e.Err == nil || !e.Stale || e.Usable() {
		t.Fatalf("failed snapshot: Err %v Stale %v Usable %v, want a stale error", e.Err, e.Stale, e.Usable())
	}
	if v := r.Preview(role("team-a", "app", readPods, readSecrets), false); len(v) != 0 {
		t.Fatalf("baselines that failed to load were consulted: %+v", v)
	}
	r.Apply(role("team-a", "app", readPods, readSecrets), false, t0) // must not touch a nil evaluator
}

func TestRemoveAndCurrent(t *testing.T) {
	rb := team("team", v1alpha1.ModeAudit)
	r, got := loaded(t, rb)
	if !r.Get("team").Current(rb) {
		t.Fatal("the entry is not current for the object it was loaded from")
	}
	next := rb.DeepCopy()
	next.Generation++
	if r.Get("team").Current(next) {
		t.Fatal("the entry is current for a newer generation")
	}
	r.Remove("team")
	if r.Get("team") != nil || len(*got) != 1 || (*got)[0].Spec != nil {
		t.Fatalf("after Remove: entry %v, changes %+v; want none and one change without a spec", r.Get("team"), *got)
	}
	var nilEntry *Entry
	if nilEntry.Current(rb) {
		t.Fatal("a missing entry is current")
	}
}

func TestSubscribeCancel(t *testing.T) {
	r, _ := loaded(t, team("team", v1alpha1.ModeAudit))
	n := 0
	cancel := r.Subscribe(func(Change) { n++ })
	r.Apply(role("team-a", "app", readPods, readSecrets), false, t0)
	cancel()
	r.Apply(role("team-a", "app", readPods), false, t0)
	if n != 1 {
		t.Fatalf("subscriber called %d times, want once before cancel", n)
	}
}
