package audit

import (
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

func TestAggregator(t *testing.T) {
	now := t0
	g := NewAggregator(48*time.Hour, 3, func() time.Time { return now })
	if g.Snapshot() != nil {
		t.Fatal("no data must give a nil snapshot: nothing may be reported unused without evidence")
	}
	grant, err := ParseReason(`RBAC: allowed by RoleBinding "view/team-a" of ClusterRole "view" to Group "devs"`)
	if err != nil {
		t.Fatal(err)
	}
	list := Access{Grant: grant, Verb: "list", Resource: "pods", Namespace: "team-a"}
	getLog := Access{Grant: grant, Verb: "get", Resource: "pods", Subresource: "log", Namespace: "team-a", Name: "p1"}
	for _, a := range []Access{list, list, getLog} {
		at := t0
		if a == getLog {
			at = t0.Add(-30 * time.Hour)
		}
		if !g.Add(a, at) {
			t.Fatal("Add refused within the cap")
		}
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
		t.Error("a fourth distinct access with a cap of 3 must be refused")
	}
	if !g.Add(list, t0) {
		t.Error("a known access in a full day still counts")
	}
	if g.Add(Access{Grant: grant, Verb: "patch", Resource: "pods"}, t0.Add(-72*time.Hour)); len(g.entries) != 3 {
		t.Errorf("an access older than the window must not be kept: %d accesses", len(g.entries))
	}
	if dirty := g.takeDirty(); len(dirty) != 2 || len(dirty[dayOf(t0)]) != 2 || len(dirty[dayOf(t0.Add(-30*time.Hour))]) != 1 {
		t.Errorf("dirty days %v, want today's two accesses and the older day's one", dirty)
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

	// Seen again today, an access moves to today: both days must be rewritten.
	g.Add(getLog, t0)
	if dirty := g.takeDirty(); len(dirty) != 2 || len(dirty[dayOf(t0)]) != 3 || len(dirty[dayOf(t0.Add(-30*time.Hour))]) != 0 {
		t.Errorf("after a move, dirty days %v: want today with 3 accesses and the older day empty (to delete)", dirty)
	}
	g.Add(Access{Grant: grant, Verb: "get", Resource: "secrets"}, t0.Add(-30*time.Hour)) // refused: full
	g.mu.Lock()
	g.maxAccesses = 4
	g.mu.Unlock()
	g.Add(Access{Grant: grant, Verb: "get", Resource: "secrets"}, t0.Add(-30*time.Hour))
	// Two days later the day of the 30-hour-old access has left the 48-hour window.
	now = t0.Add(48 * time.Hour)
	if gone := g.Prune(); len(gone) != 1 {
		t.Errorf("pruned %v, want the oldest day", gone)
	}
	if !g.Snapshot().Used(b, devs, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}) {
		t.Error("an access seen again inside the window must stay")
	}
	if g.Snapshot().Used(b, devs, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}) {
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

func TestAccessKeyRoundTrip(t *testing.T) {
	for _, reason := range []string{
		`RBAC: allowed by RoleBinding "x/n" of Role "r" to ServiceAccount "sa/n"`,
		`RBAC: allowed by ClusterRoleBinding "c" of ClusterRole "c" to User "tab\there, \"quoted\""`,
		`RBAC: allowed by ClusterRoleBinding "c" of ClusterRole "c" to Group ""`,
	} {
		g, err := ParseReason(reason)
		if err != nil && !strings.Contains(reason, `Group ""`) {
			t.Fatal(err)
		}
		a := Access{Grant: g, Verb: "get", APIGroup: "apps", Resource: "deployments", Subresource: "scale", Namespace: "n", Name: "d"}
		k, ok := a.appendKey(nil)
		if !ok || accessOf(string(k)) != a {
			t.Errorf("%+v did not round-trip through its key: %+v", a, accessOf(string(k)))
		}
	}
	if _, ok := (&Access{Verb: "get", Name: "a\x00b"}).appendKey(nil); ok {
		t.Error("a NUL in a field must not make a key: it would be read back as two fields")
	}
}
