package audit

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

func TestAggregator(t *testing.T) {
	now := t0
	g := NewAggregator(48*time.Hour, 2, func() time.Time { return now })
	if g.Snapshot() != nil {
		t.Fatal("no data must give a nil snapshot: nothing may be reported unused without evidence")
	}
	grant, err := ParseReason(`RBAC: allowed by RoleBinding "view/team-a" of ClusterRole "view" to Group "devs"`)
	if err != nil {
		t.Fatal(err)
	}
	list := Access{Grant: grant, Verb: "list", Resource: "pods", Namespace: "team-a"}
	getLog := Access{Grant: grant, Verb: "get", Resource: "pods", Subresource: "log", Namespace: "team-a", Name: "p1"}
	if !g.Add(list, t0) || !g.Add(list, t0) || !g.Add(getLog, t0.Add(-30*time.Hour)) {
		t.Fatal("Add refused within the cap")
	}
	select {
	case <-g.Changed():
	default:
		t.Error("a new access must signal Changed")
	}
	g.Add(list, t0) // known: no signal
	select {
	case <-g.Changed():
		t.Error("a known access must not signal Changed")
	default:
	}
	g.Add(Access{Grant: grant, Verb: "watch", Resource: "pods"}, t0)
	if g.Add(Access{Grant: grant, Verb: "delete", Resource: "pods"}, t0) {
		t.Error("a third distinct access in a day of cap 2 must be refused")
	}
	if !g.Add(list, t0) {
		t.Error("a known access in a full day still counts")
	}
	if g.Add(list, t0.Add(-72*time.Hour)); len(g.days) != 2 {
		t.Errorf("an access older than the window must not be kept: %d days", len(g.days))
	}

	s := g.Snapshot()
	devs := rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "devs"}
	b := grant.Binding
	for _, tc := range []struct {
		binding drift.ObjectRef
		subject rbacv1.Subject
		rule    rbacv1.PolicyRule
		want    bool
	}{
		{b, devs, rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"pods"}}, true},
		{b, devs, rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{""}, Resources: []string{"pods"}}, true},
		{b, devs, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, false},
		{b, devs, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}, true},
		{b, devs, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}, ResourceNames: []string{"p2"}}, false},
		{b, devs, rbacv1.PolicyRule{Verbs: []string{"delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}, false},
		{b, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "devs"}, rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"pods"}}, false},
		{drift.ObjectRef{Kind: "RoleBinding", Namespace: "team-b", Name: "view"}, devs, rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"pods"}}, false},
	} {
		if got := s.Used(tc.binding, tc.subject, tc.rule); got != tc.want {
			t.Errorf("Used(%s, %s, %v) = %v, want %v", tc.binding, tc.subject.Name, tc.rule, got, tc.want)
		}
	}

	// Two days later the day of the 30-hour-old access has left the 48-hour window.
	now = t0.Add(48 * time.Hour)
	if gone := g.Prune(); len(gone) != 1 {
		t.Errorf("pruned %v, want the oldest day", gone)
	}
	if g.Snapshot().Used(b, devs, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}) {
		t.Error("usage outside the window still counts")
	}
}

func TestStoredDayRoundTrip(t *testing.T) {
	grant, _ := ParseReason(`RBAC: allowed by RoleBinding "x/n" of Role "r" to ServiceAccount "sa/n"`)
	recs := []record{
		{a: Access{Grant: grant, Verb: "get", Resource: "pods", Namespace: "n", Name: "tab\there"}, count: 3, last: 100},
		{a: Access{Grant: Grant{Binding: drift.ObjectRef{Kind: "ClusterRoleBinding", Name: "c"}, RoleKind: "ClusterRole", RoleName: "c",
			Subject: rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "line\nbreak"}}, Verb: "get", NonResourceURL: "/healthz"}, count: 1, last: 200},
	}
	data, err := encodeDay(append([]record(nil), recs...))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDay(data)
	if err != nil || len(got) != 2 {
		t.Fatalf("decoded %d records, %v", len(got), err)
	}
	want := map[Access]record{recs[0].a: recs[0], recs[1].a: recs[1]}
	for _, r := range got {
		if w, ok := want[r.a]; !ok || w != r {
			t.Errorf("record %+v did not round-trip", r)
		}
	}
	if _, err := decodeDay([]byte("not gzip")); err == nil {
		t.Error("garbage must not decode")
	}
}
