package audit

import (
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

const rbacGroup = "rbac.authorization.k8s.io"

func TestFilter(t *testing.T) {
	viewReason := `RBAC: allowed by RoleBinding "view/team-a" of ClusterRole "view" to Group "devs"`
	tests := map[string]struct {
		ev        auditv1.Event
		write     string // "" for none; else Kind ns/name by user verb
		access    string // "" for none; else binding|verb group/resource/sub ns/name url
		outcome   Outcome
		rv, imper string
	}{
		"role update is a write": {ev: withResponseRV(event("1", "alice", "update", rbacGroup, "roles", "team-a", "app", t0), "42"),
			write: "Role team-a/app by alice update", outcome: Kept, rv: "42"},
		"clusterrolebinding delete is a write without rv": {ev: event("2", "bob", "delete", rbacGroup, "clusterrolebindings", "", "x", t0),
			write: "ClusterRoleBinding x by bob delete", outcome: Kept},
		"failed write is not a write": {ev: func() auditv1.Event {
			e := event("3", "a", "update", rbacGroup, "roles", "n", "r", t0)
			e.ResponseStatus.Code = 409
			return e
		}(), outcome: Irrelevant},
		"RBAC get is not a write": {ev: event("4", "a", "get", rbacGroup, "roles", "n", "r", t0), outcome: Irrelevant},
		"RequestReceived is ignored": {ev: func() auditv1.Event {
			e := event("5", "a", "update", rbacGroup, "roles", "n", "r", t0)
			e.Stage = auditv1.StageRequestReceived
			return e
		}(), outcome: Irrelevant},
		"other group is not a write":    {ev: event("6", "a", "update", "apps", "deployments", "n", "r", t0), outcome: Irrelevant},
		"collection delete has no name": {ev: event("7", "a", "deletecollection", rbacGroup, "roles", "n", "", t0), outcome: Irrelevant},
		"impersonation names both": {ev: func() auditv1.Event {
			e := event("8", "admin", "patch", rbacGroup, "rolebindings", "n", "rb", t0)
			e.ImpersonatedUser = &authnv1.UserInfo{Username: "mallory"}
			return e
		}(), write: "RoleBinding n/rb by mallory patch", outcome: Kept, imper: "admin"},
		"allowed by RBAC is an access": {ev: allowedBy(event("9", "alice", "list", "", "pods", "team-a", "", t0), viewReason),
			access: "RoleBinding team-a/view|list /pods/ team-a/ ", outcome: Kept},
		"create drops the name the authorizer did not see": {ev: allowedBy(event("10", "alice", "create", "", "configmaps", "team-a", "cm", t0), viewReason),
			access: "RoleBinding team-a/view|create /configmaps/ team-a/ ", outcome: Kept},
		"non-resource request": {ev: func() auditv1.Event {
			e := allowedBy(event("11", "alice", "get", "", "", "", "", t0), `RBAC: allowed by ClusterRoleBinding "m" of ClusterRole "m" to User "alice"`)
			e.RequestURI = "/metrics?x=1"
			return e
		}(), access: "ClusterRoleBinding m|get // / /metrics", outcome: Kept},
		"denied request does not count": {ev: func() auditv1.Event {
			e := allowedBy(event("12", "alice", "list", "", "pods", "n", "", t0), viewReason)
			e.Annotations[annotationDecision] = "forbid"
			return e
		}(), outcome: Irrelevant},
		"allowed by another authorizer does not count": {ev: allowedBy(event("13", "n", "get", "", "nodes", "", "x", t0), ""), outcome: Irrelevant},
		"unparsable RBAC reason":                       {ev: allowedBy(event("14", "a", "get", "", "pods", "n", "p", t0), "RBAC: allowed by nonsense"), outcome: BadReason},
		"RBAC write allowed by RBAC is both": {ev: allowedBy(event("15", "alice", "update", rbacGroup, "roles", "team-a", "app", t0), viewReason),
			write: "Role team-a/app by alice update", access: "RoleBinding team-a/view|update rbac.authorization.k8s.io/roles/ team-a/app ", outcome: Kept},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, a, out := Filter(&tc.ev)
			if out != tc.outcome {
				t.Fatalf("outcome %v, want %v", out, tc.outcome)
			}
			gotW := ""
			if w != nil {
				gotW = w.Object.String() + " by " + w.User + " " + w.Verb
				if w.ResourceVersion != tc.rv || w.Impersonator != tc.imper || w.AuditID != string(tc.ev.AuditID) || !w.Time.Equal(t0) {
					t.Errorf("write %+v: want rv %q impersonator %q", w, tc.rv, tc.imper)
				}
			}
			if gotW != tc.write {
				t.Errorf("write %q, want %q", gotW, tc.write)
			}
			gotA := ""
			if a != nil {
				gotA = a.Grant.Binding.String() + "|" + a.Verb + " " + a.APIGroup + "/" + a.Resource + "/" + a.Subresource + " " + a.Namespace + "/" + a.Name + " " + a.NonResourceURL
			}
			if gotA != tc.access {
				t.Errorf("access %q, want %q", gotA, tc.access)
			}
		})
	}
}

func TestIndexAttribute(t *testing.T) {
	ref := drift.ObjectRef{Kind: "Role", Namespace: "n", Name: "r"}
	w := func(id, user, verb, rv string, min int) Write {
		return Write{Object: ref, User: user, Verb: verb, AuditID: id, ResourceVersion: rv, Time: t0.Add(timeMinutes(min))}
	}
	var notified []drift.ObjectRef
	x := NewIndex(3, 2, func(r drift.ObjectRef) { notified = append(notified, r) })
	x.Record(w("b", "bob", "update", "20", 2))
	x.Record(w("a", "alice", "create", "10", 1)) // late arrival keeps time order
	x.Record(w("a", "alice", "create", "10", 1)) // duplicate from the other intake
	if got := len(x.History(ref)); got != 2 || x.History(ref)[0].User != "alice" {
		t.Fatalf("history %+v", x.History(ref))
	}
	if len(notified) != 2 {
		t.Errorf("notified %d times, want 2 (a duplicate is not news)", len(notified))
	}
	for _, tc := range []struct {
		rv, want string
		ok       bool
	}{{"20", "bob", true}, {"10", "alice", true}, {"30", "", false}, {"", "", false}} {
		got, ok := x.Attribute(ref, tc.rv)
		if ok != tc.ok || got.User != tc.want {
			t.Errorf("Attribute(rv %q) = %q, %v; want %q, %v", tc.rv, got.User, ok, tc.want, tc.ok)
		}
	}
	x.Record(w("c", "carol", "delete", "", 3))
	if got, ok := x.Attribute(ref, ""); !ok || got.User != "carol" {
		t.Errorf("deleted object attributed to %q, %v; want carol", got.User, ok)
	}
	x.Record(w("d", "dave", "update", "40", 4))
	if h := x.History(ref); len(h) != 3 || h[0].User != "bob" {
		t.Errorf("per-object cap: history %+v, want bob..dave", h)
	}
	// Metadata-level policies carry no resourceVersion: the latest write is the best guess.
	meta := drift.ObjectRef{Kind: "ClusterRole", Name: "m"}
	x.Record(Write{Object: meta, User: "erin", Verb: "patch", AuditID: "e", Time: t0})
	if got, ok := x.Attribute(meta, "99"); !ok || got.User != "erin" {
		t.Errorf("metadata-level write attributed to %q, %v; want erin", got.User, ok)
	}
	// Object cap: the least recently written object is forgotten.
	x.Record(Write{Object: drift.ObjectRef{Kind: "Role", Namespace: "n", Name: "other"}, User: "f", AuditID: "f", Time: t0})
	if x.Len() != 2 || x.History(ref) != nil {
		t.Errorf("object cap 2: len %d, oldest still held: %v", x.Len(), x.History(ref) != nil)
	}
	if (&Write{User: "u", Impersonator: "admin"}).Who() != "u (impersonated by admin)" {
		t.Error("Who does not name the impersonator")
	}
}
