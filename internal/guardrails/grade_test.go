package guardrails

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// TestMatchGrades: resourceNames narrow a grant without erasing it, the CSR approval
// rule sees through a named signer, and get on pods/exec is graded for the server.
func TestMatchGrades(t *testing.T) {
	named := func(group, resource string, names []string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: s(group), Resources: s(resource), Verbs: verbs, ResourceNames: names}
	}
	approval := rule(s("certificates.k8s.io"), s("certificatesigningrequests/approval"), s("update"))
	old, current := NewServer(1, 34, nil), NewServer(1, 37, nil)
	tests := map[string]struct {
		rules  []rbacv1.PolicyRule
		server Server
		id     v1alpha1.GuardrailID
		lower  int
		note   string // a part of the note
	}{
		// evaluation_helpers.go ResourceNameMatches: the rule applies to the named objects.
		"one named secret, one step lower": {rules: []rbacv1.PolicyRule{named("", "secrets", s("db", "tls"), "get")},
			id: v1alpha1.GuardrailSecretsRead, lower: 1, note: "only for resourceNames db, tls"},
		"named and unnamed: the unnamed grant decides": {rules: []rbacv1.PolicyRule{named("", "secrets", s("db"), "get"), rule(s(""), s("secrets"), s("list"))},
			id: v1alpha1.GuardrailSecretsRead},
		"token for one serviceaccount": {rules: []rbacv1.PolicyRule{named("", "serviceaccounts/token", s("deployer"), "create")},
			id: v1alpha1.GuardrailServiceAccountTokenCreate, lower: 1, note: "deployer"},
		"impersonate one user": {rules: []rbacv1.PolicyRule{named("", "users", s("jane"), "impersonate")},
			id: v1alpha1.GuardrailEscalationVerbs, lower: 1, note: "jane"},
		// plugin/pkg/admission/certificates IsAuthorizedForSignerName: approve on the signer name or domain/*.
		"approve for kube-apiserver-client is full": {rules: []rbacv1.PolicyRule{approval, named("certificates.k8s.io", "signers", s("kubernetes.io/kube-apiserver-client"), "approve")},
			id: v1alpha1.GuardrailCSRApproval, note: "any user or group"},
		"approve for kubernetes.io/* is full": {rules: []rbacv1.PolicyRule{approval, named("certificates.k8s.io", "signers", s("kubernetes.io/*"), "approve")},
			id: v1alpha1.GuardrailCSRApproval, note: "kubernetes.io/*"},
		"approve for a custom signer, one step lower": {rules: []rbacv1.PolicyRule{approval, named("certificates.k8s.io", "signers", s("example.com/serving"), "approve")},
			id: v1alpha1.GuardrailCSRApproval, lower: 1, note: "example.com/serving"},
		// KEP-4006: since 1.35 the websocket upgrade of exec, attach and port-forward needs create.
		"get pods/exec on 1.37 is Low": {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/exec", "pods/attach"), s("get"))}, server: current,
			id: v1alpha1.GuardrailPodExecAttach, lower: 2, note: "judged for Kubernetes 1.37"},
		"get pods/exec on 1.34 is full": {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/exec"), s("get"))}, server: old,
			id: v1alpha1.GuardrailPodExecAttach, note: "judged for Kubernetes 1.34"},
		"get pods/exec, version unknown, is full": {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/exec"), s("get"))},
			id: v1alpha1.GuardrailPodExecAttach, note: "unknown version"},
		"create pods/exec on 1.37 is full": {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/exec"), s("get", "create"))}, server: current,
			id: v1alpha1.GuardrailPodExecAttach},
	}
	defer SetServer(Server{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			SetServer(tc.server)
			var got *Match
			for _, m := range MatchRole(tc.rules, SetOf(tc.id), false) {
				got = &m
			}
			if got == nil {
				t.Fatalf("%s not matched", tc.id)
			}
			if got.Lower != tc.lower || !strings.Contains(got.Note, tc.note) {
				t.Errorf("lower %d note %q; want lower %d and a note with %q", got.Lower, got.Note, tc.lower, tc.note)
			}
			if len(got.Rules) == 0 {
				t.Error("no offending rules")
			}
		})
	}
}

func TestLower(t *testing.T) {
	for _, tc := range []struct {
		in    v1alpha1.Severity
		steps int
		want  v1alpha1.Severity
	}{
		{v1alpha1.SeverityCritical, 0, v1alpha1.SeverityCritical},
		{v1alpha1.SeverityCritical, 1, v1alpha1.SeverityHigh},
		{v1alpha1.SeverityHigh, 2, v1alpha1.SeverityLow},
		{v1alpha1.SeverityMedium, 5, v1alpha1.SeverityLow},
		{v1alpha1.SeverityLow, 1, v1alpha1.SeverityLow},
	} {
		if got := Lower(tc.in, tc.steps); got != tc.want {
			t.Errorf("Lower(%s, %d) = %s, want %s", tc.in, tc.steps, got, tc.want)
		}
	}
}

func TestDiscoveredClusterScoped(t *testing.T) {
	defer SetServer(Server{})
	if ClusterScoped("example.com", "widgets") {
		t.Fatal("a custom resource is cluster-scoped before discovery said so")
	}
	SetServer(NewServer(1, 37, []string{"example.com/widgets", "/things"}))
	if !ClusterScoped("example.com", "widgets") || !ClusterScoped("example.com", "widgets/status") || !ClusterScoped("", "things") || !HasClusterScoped("example.com") {
		t.Error("discovered cluster-scoped resources not taken")
	}
	if ClusterScoped("example.com", "gadgets") {
		t.Error("an undiscovered resource taken for cluster-scoped")
	}
}

// TestMatchAggregation: a ClusterRole labelled into a default role is graded by what
// it adds (Kubernetes RBAC, "Aggregated ClusterRoles" and "User-facing roles").
func TestMatchAggregation(t *testing.T) {
	view := map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}
	tests := map[string]struct {
		a         Aggregation
		match     bool
		lower     int
		noteParts []string
	}{
		"no label":       {a: Aggregation{Labels: map[string]string{"app": "x"}}},
		"label not true": {a: Aggregation{Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "false"}}},
		"reads, offline": {a: Aggregation{Labels: view, Rules: []rbacv1.PolicyRule{rule(s("example.com"), s("widgets"), s("get"))}},
			match: true, lower: 2, noteParts: []string{"feeds ClusterRoles admin, edit, view", "read access", "none in scope yet"}},
		"writes, live feeds": {a: Aggregation{Labels: view, Feeds: []string{"view"}, Rules: []rbacv1.PolicyRule{rule(s("example.com"), s("widgets"), s("create"))}},
			match: true, lower: 1, noteParts: []string{"feeds ClusterRoles view,", "writes"}},
		"dangerous, with subjects": {a: Aggregation{Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
			Rules:    []rbacv1.PolicyRule{rule(s(""), s("secrets"), s("list"))},
			Subjects: []rbacv1.Subject{{Kind: "Group", Name: "dev"}, {Kind: "ServiceAccount", Namespace: "ci", Name: "bot"}}, Bound: 7},
			match: true, noteParts: []string{"feeds ClusterRoles admin, edit,", "a dangerous permission", "(7 in scope: Group dev, ServiceAccount ci/bot and 5 more)"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, ok := MatchAggregation(&tc.a, All())
			if ok != tc.match || m.Lower != tc.lower {
				t.Fatalf("match %v lower %d, want %v %d (%s)", ok, m.Lower, tc.match, tc.lower, m.Note)
			}
			for _, p := range tc.noteParts {
				if !strings.Contains(m.Note, p) {
					t.Errorf("note %q lacks %q", m.Note, p)
				}
			}
			if _, off := MatchAggregation(&tc.a, All().Without(v1alpha1.GuardrailDefaultRoleAggregation)); off {
				t.Error("matched while disabled")
			}
		})
	}
}
