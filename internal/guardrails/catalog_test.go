package guardrails

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// apiGuardrailIDs reads the GuardrailID enum marker and constants from the API source,
// so the catalog cannot drift from what the CRD accepts.
func apiGuardrailIDs(t *testing.T) (enum, consts []string) {
	t.Helper()
	const path = "../../api/v1alpha1/guardrail_types.go"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^// \+kubebuilder:validation:Enum=(.*)\ntype GuardrailID string`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no Enum marker on GuardrailID")
	}
	enum = strings.Split(string(m[1]), ";")
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); ok && id.Name == "GuardrailID" {
				consts = append(consts, strings.Trim(v.Values[0].(*ast.BasicLit).Value, `"`))
			}
		}
	}
	return enum, consts
}

func TestCatalogMatchesAPIEnum(t *testing.T) {
	enum, consts := apiGuardrailIDs(t)
	var ids []string
	for _, id := range IDs() {
		ids = append(ids, string(id))
	}
	for name, got := range map[string][]string{"enum marker": enum, "constants": consts} {
		a, b := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(ids))
		if !slices.Equal(a, b) {
			t.Errorf("catalog and API %s differ:\ncatalog %v\napi     %v", name, b, a)
		}
	}
}

func TestCatalogEntriesComplete(t *testing.T) {
	sev := map[v1alpha1.Severity]bool{v1alpha1.SeverityLow: true, v1alpha1.SeverityMedium: true, v1alpha1.SeverityHigh: true, v1alpha1.SeverityCritical: true}
	seen := map[v1alpha1.GuardrailID]bool{}
	for _, r := range Catalog() {
		if seen[r.ID] {
			t.Errorf("%s listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || r.Reference == "" || !sev[r.Severity] {
			t.Errorf("%s: incomplete entry %+v", r.ID, r)
		}
		switch r.Target {
		case TargetRole:
			if r.syntactic == nil && len(r.anyOf)+len(r.allOf) == 0 {
				t.Errorf("%s: role rule without requests", r.ID)
			}
		case TargetBinding:
			if r.binding == nil {
				t.Errorf("%s: binding rule without matcher", r.ID)
			}
		}
		if got, ok := Lookup(r.ID); !ok || got.ID != r.ID {
			t.Errorf("Lookup(%s) = %v, %v", r.ID, got.ID, ok)
		}
	}
}

func rule(groups, resources, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

func s(xs ...string) []string { return xs }

func TestMatchRole(t *testing.T) {
	const (
		secrets  = v1alpha1.GuardrailSecretsRead
		wildcard = v1alpha1.GuardrailWildcardAccess
		workload = v1alpha1.GuardrailWorkloadCreate
		escalate = v1alpha1.GuardrailEscalationVerbs
		pv       = v1alpha1.GuardrailPersistentVolumeCreate
		proxy    = v1alpha1.GuardrailNodesProxy
		csr      = v1alpha1.GuardrailCSRApproval
		webhook  = v1alpha1.GuardrailAdmissionWebhookWrite
		token    = v1alpha1.GuardrailServiceAccountTokenCreate
		exec     = v1alpha1.GuardrailPodExecAttach
		nsWrite  = v1alpha1.GuardrailNamespaceWrite
	)
	allRole := []v1alpha1.GuardrailID{secrets, wildcard, workload, escalate, pv, proxy, csr, webhook, token, exec, nsWrite}
	tests := map[string]struct {
		rules      []rbacv1.PolicyRule
		namespaced bool // a Role, not a ClusterRole
		want       []v1alpha1.GuardrailID
	}{
		"read configmaps":                 {rules: []rbacv1.PolicyRule{rule(s(""), s("configmaps", "pods"), s("get", "list", "watch"))}},
		"get secrets":                     {rules: []rbacv1.PolicyRule{rule(s(""), s("secrets"), s("get"))}, want: []v1alpha1.GuardrailID{secrets}},
		"watch secrets among others":      {rules: []rbacv1.PolicyRule{rule(s("", "apps"), s("pods", "secrets"), s("watch"))}, want: []v1alpha1.GuardrailID{secrets}},
		"secrets via apiGroups *":         {rules: []rbacv1.PolicyRule{rule(s("*"), s("secrets"), s("list"))}, want: []v1alpha1.GuardrailID{secrets}},
		"secrets via resources *":         {rules: []rbacv1.PolicyRule{rule(s(""), s("*"), s("get"))}, want: []v1alpha1.GuardrailID{secrets, wildcard, proxy, exec}},
		"secrets via verbs *":             {rules: []rbacv1.PolicyRule{rule(s(""), s("secrets"), s("*"))}, want: []v1alpha1.GuardrailID{secrets, wildcard}},
		"secrets by resourceName":         {rules: []rbacv1.PolicyRule{{APIGroups: s(""), Resources: s("secrets"), Verbs: s("get"), ResourceNames: s("tls")}}, want: []v1alpha1.GuardrailID{secrets}},
		"create pods by resourceName":     {rules: []rbacv1.PolicyRule{{APIGroups: s(""), Resources: s("pods"), Verbs: s("create"), ResourceNames: s("p")}}},
		"secrets in another group":        {rules: []rbacv1.PolicyRule{rule(s("example.com"), s("secrets"), s("get"))}},
		"create secrets is not read":      {rules: []rbacv1.PolicyRule{rule(s(""), s("secrets"), s("create", "delete"))}},
		"everything":                      {rules: []rbacv1.PolicyRule{rule(s("*"), s("*"), s("*")), {NonResourceURLs: s("*"), Verbs: s("*")}}, want: allRole},
		"nonResourceURL star only":        {rules: []rbacv1.PolicyRule{{NonResourceURLs: s("*"), Verbs: s("get")}}, want: []v1alpha1.GuardrailID{wildcard}},
		"nonResourceURL prefix":           {rules: []rbacv1.PolicyRule{{NonResourceURLs: s("/metrics*"), Verbs: s("get")}}},
		"create pods":                     {rules: []rbacv1.PolicyRule{rule(s(""), s("pods"), s("create"))}, want: []v1alpha1.GuardrailID{workload}},
		"create deployments":              {rules: []rbacv1.PolicyRule{rule(s("apps"), s("deployments"), s("create"))}, want: []v1alpha1.GuardrailID{workload}},
		"create cronjobs via apiGroups *": {rules: []rbacv1.PolicyRule{rule(s("*"), s("cronjobs"), s("create"))}, want: []v1alpha1.GuardrailID{workload}},
		"create deployments wrong group":  {rules: []rbacv1.PolicyRule{rule(s("extensions"), s("deployments"), s("create"))}},
		"update deployments":              {rules: []rbacv1.PolicyRule{rule(s("apps"), s("deployments"), s("update", "patch"))}},
		"bind clusterroles":               {rules: []rbacv1.PolicyRule{rule(s("rbac.authorization.k8s.io"), s("clusterroles"), s("bind"))}, want: []v1alpha1.GuardrailID{escalate}},
		"escalate roles via apiGroups *":  {rules: []rbacv1.PolicyRule{rule(s("*"), s("roles"), s("escalate"))}, want: []v1alpha1.GuardrailID{escalate}},
		"impersonate users":               {rules: []rbacv1.PolicyRule{rule(s(""), s("users"), s("impersonate"))}, want: []v1alpha1.GuardrailID{escalate}},
		"impersonate userextras":          {rules: []rbacv1.PolicyRule{rule(s("authentication.k8s.io"), s("userextras"), s("impersonate"))}, want: []v1alpha1.GuardrailID{escalate}},
		"impersonate via verbs * on sa":   {rules: []rbacv1.PolicyRule{rule(s(""), s("serviceaccounts"), s("*"))}, want: []v1alpha1.GuardrailID{wildcard, escalate}},
		"create persistentvolumes":        {rules: []rbacv1.PolicyRule{rule(s(""), s("persistentvolumes"), s("create"))}, want: []v1alpha1.GuardrailID{pv}},
		"create persistentvolumeclaims":   {rules: []rbacv1.PolicyRule{rule(s(""), s("persistentvolumeclaims"), s("create"))}},
		"nodes/proxy":                     {rules: []rbacv1.PolicyRule{rule(s(""), s("nodes/proxy"), s("get"))}, want: []v1alpha1.GuardrailID{proxy}},
		"nodes/proxy via */proxy":         {rules: []rbacv1.PolicyRule{rule(s(""), s("*/proxy"), s("get"))}, want: []v1alpha1.GuardrailID{wildcard, proxy}},
		"nodes/proxy via resources *":     {rules: []rbacv1.PolicyRule{rule(s(""), s("*"), s("create"))}, want: []v1alpha1.GuardrailID{wildcard, workload, pv, proxy, token, exec}},
		"nodes/proxy via apiGroups *":     {rules: []rbacv1.PolicyRule{rule(s("*"), s("nodes/proxy"), s("create"))}, want: []v1alpha1.GuardrailID{proxy}},
		// evaluation_helpers.go ResourceMatches: *, the resource, or */subresource; no prefix wildcard.
		"nodes/* grants nothing, no wildcard": {rules: []rbacv1.PolicyRule{rule(s(""), s("nodes/*"), s("get"))}},
		"*/* grants nothing, no wildcard":     {rules: []rbacv1.PolicyRule{rule(s(""), s("*/*"), s("get"))}},
		// A Role's rules apply in its namespace only: cluster-scoped requests are never granted.
		"Role: resources * reach no nodes/proxy": {rules: []rbacv1.PolicyRule{rule(s(""), s("*"), s("get"))}, namespaced: true,
			want: []v1alpha1.GuardrailID{secrets, wildcard, exec}},
		"Role: everything":              {rules: []rbacv1.PolicyRule{rule(s("*"), s("*"), s("*"))}, namespaced: true, want: []v1alpha1.GuardrailID{secrets, wildcard, workload, escalate, token, exec, nsWrite}},
		"Role: webhook configurations":  {rules: []rbacv1.PolicyRule{rule(s("admissionregistration.k8s.io"), s("validatingwebhookconfigurations"), s("patch"))}, namespaced: true},
		"Role: csr approval and signer": {rules: []rbacv1.PolicyRule{rule(s("certificates.k8s.io"), s("certificatesigningrequests/approval"), s("update")), rule(s("certificates.k8s.io"), s("signers"), s("approve"))}, namespaced: true},
		// But its own Namespace object: a request for namespace X carries X as its
		// namespace (apiserver RequestInfo), so a RoleBinding in X grants patch of X.
		"Role: patch namespaces":                  {rules: []rbacv1.PolicyRule{rule(s(""), s("namespaces"), s("patch"))}, namespaced: true, want: []v1alpha1.GuardrailID{nsWrite}},
		"Role: create pods":                       {rules: []rbacv1.PolicyRule{rule(s(""), s("pods"), s("create"))}, namespaced: true, want: []v1alpha1.GuardrailID{workload}},
		"Role: webhook configurations via *group": {rules: []rbacv1.PolicyRule{rule(s("*"), s("mutatingwebhookconfigurations"), s("delete"))}, namespaced: true},
		"nodes without subresource":               {rules: []rbacv1.PolicyRule{rule(s(""), s("nodes"), s("get", "list"))}},
		"csr approval subresource only":           {rules: []rbacv1.PolicyRule{rule(s("certificates.k8s.io"), s("certificatesigningrequests/approval"), s("update"))}},
		"csr approve signer only":                 {rules: []rbacv1.PolicyRule{rule(s("certificates.k8s.io"), s("signers"), s("approve"))}},
		"csr approval and signer":                 {rules: []rbacv1.PolicyRule{rule(s("certificates.k8s.io"), s("certificatesigningrequests/approval"), s("update")), rule(s("certificates.k8s.io"), s("signers"), s("approve"))}, want: []v1alpha1.GuardrailID{csr}},
		"csr via */approval and verbs *":          {rules: []rbacv1.PolicyRule{rule(s("certificates.k8s.io"), s("*/approval", "signers"), s("*"))}, want: []v1alpha1.GuardrailID{wildcard, csr}},
		"patch validatingwebhooks":                {rules: []rbacv1.PolicyRule{rule(s("admissionregistration.k8s.io"), s("validatingwebhookconfigurations"), s("patch"))}, want: []v1alpha1.GuardrailID{webhook}},
		"delete mutatingwebhooks via *group":      {rules: []rbacv1.PolicyRule{rule(s("*"), s("mutatingwebhookconfigurations"), s("delete"))}, want: []v1alpha1.GuardrailID{webhook}},
		"read webhooks":                           {rules: []rbacv1.PolicyRule{rule(s("admissionregistration.k8s.io"), s("mutatingwebhookconfigurations"), s("get", "list"))}},
		"create serviceaccounts/token":            {rules: []rbacv1.PolicyRule{rule(s(""), s("serviceaccounts/token"), s("create"))}, want: []v1alpha1.GuardrailID{token}},
		"token via */token":                       {rules: []rbacv1.PolicyRule{rule(s(""), s("*/token"), s("create"))}, want: []v1alpha1.GuardrailID{wildcard, token}},
		"create serviceaccounts":                  {rules: []rbacv1.PolicyRule{rule(s(""), s("serviceaccounts"), s("create"))}},
		"pods/exec create":                        {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/exec"), s("create"))}, want: []v1alpha1.GuardrailID{exec}},
		"pods/attach get":                         {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/attach"), s("get"))}, want: []v1alpha1.GuardrailID{exec}},
		"pods/portforward via */portforward":      {rules: []rbacv1.PolicyRule{rule(s(""), s("*/portforward"), s("create"))}, want: []v1alpha1.GuardrailID{wildcard, exec}},
		"pods/ephemeralcontainers patch":          {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/ephemeralcontainers"), s("patch"))}, want: []v1alpha1.GuardrailID{exec}},
		"pods/log get":                            {rules: []rbacv1.PolicyRule{rule(s(""), s("pods/log"), s("get"))}},
		"patch namespaces":                        {rules: []rbacv1.PolicyRule{rule(s(""), s("namespaces"), s("patch"))}, want: []v1alpha1.GuardrailID{nsWrite}},
		"namespaces via verbs *":                  {rules: []rbacv1.PolicyRule{rule(s(""), s("namespaces"), s("*"))}, want: []v1alpha1.GuardrailID{wildcard, nsWrite}},
		"get namespaces":                          {rules: []rbacv1.PolicyRule{rule(s(""), s("namespaces"), s("get"))}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []v1alpha1.GuardrailID
			for _, m := range MatchRole(tc.rules, All(), tc.namespaced) {
				got = append(got, m.ID)
				if len(m.Rules) == 0 {
					t.Errorf("%s matched without offending rules", m.ID)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if none := MatchRole(tc.rules, 0, tc.namespaced); len(none) != 0 {
				t.Errorf("empty set matched %v", none)
			}
		})
	}
}

func TestMatchBindings(t *testing.T) {
	user := rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice", APIGroup: rbacv1.GroupName}
	authenticated := rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:authenticated", APIGroup: rbacv1.GroupName}
	read := []rbacv1.PolicyRule{rule(s(""), s("configmaps", "pods"), s("get", "list", "watch"))}
	write := []rbacv1.PolicyRule{rule(s("apps"), s("deployments"), s("get", "update"))}
	// The rules of the bootstrap system:discovery and system:basic-user ClusterRoles
	// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).
	discovery := []rbacv1.PolicyRule{
		{NonResourceURLs: s("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"), Verbs: s("get")},
		rule(s("authorization.k8s.io"), s("selfsubjectaccessreviews", "selfsubjectrulesreviews"), s("create")),
		rule(s("authentication.k8s.io"), s("selfsubjectreviews"), s("create")),
	}
	clusterRole := func(name string) rbacv1.RoleRef { return rbacv1.RoleRef{Kind: "ClusterRole", Name: name} }
	type want struct {
		subjects, lower int
	}
	tests := map[string]struct {
		b    Binding
		want map[v1alpha1.GuardrailID]want
	}{
		"cluster-admin to a user": {b: Binding{RoleRef: clusterRole("cluster-admin"), Subjects: []rbacv1.Subject{user}},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailClusterAdminBinding: {1, 0}}},
		"cluster-admin in one namespace (RoleBinding) is one step lower": {b: Binding{RoleRef: clusterRole("cluster-admin"), Subjects: []rbacv1.Subject{user}, Namespace: "ci"},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailClusterAdminBinding: {1, 1}}},
		"a Role named cluster-admin": {b: Binding{RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{user}, Namespace: "a"}},
		"view to authenticated is High": {b: Binding{RoleRef: clusterRole("view"), Subjects: []rbacv1.Subject{user, authenticated}, Role: read, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 1}}},
		"edit to authenticated is Critical": {b: Binding{RoleRef: clusterRole("edit"), Subjects: []rbacv1.Subject{authenticated}, Role: write, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 0}}},
		"read secrets to all serviceaccounts is Critical": {b: Binding{RoleRef: clusterRole("x"), Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts"}},
			Role: []rbacv1.PolicyRule{rule(s(""), s("secrets"), s("list"))}, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 0}}},
		"a namespace's serviceaccounts": {b: Binding{RoleRef: clusterRole("view"), Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:ci"}}, Namespace: "ci", Role: read, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 1}}},
		"bootstrap discovery to authenticated is informational": {b: Binding{RoleRef: clusterRole("system:discovery"), Subjects: []rbacv1.Subject{authenticated}, Role: discovery, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 3}}},
		"a widened system:discovery is judged by its rules": {b: Binding{RoleRef: clusterRole("system:discovery"), Subjects: []rbacv1.Subject{authenticated},
			Role: append(slices.Clone(discovery), rule(s(""), s("secrets"), s("get"))), RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 0}}},
		"a missing role is High": {b: Binding{RoleRef: clusterRole("gone"), Subjects: []rbacv1.Subject{authenticated}},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 1}}},
		"cluster-admin to masters and anonymous": {b: Binding{RoleRef: clusterRole("cluster-admin"),
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:masters"}, {Kind: rbacv1.UserKind, Name: "system:anonymous"}}, Role: discovery, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailClusterAdminBinding: {2, 0}, v1alpha1.GuardrailAnonymousBinding: {2, 0}}},
		"unauthenticated group": {b: Binding{RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "x"}, Namespace: "a", Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}}, Role: write, RoleFound: true},
			want: map[v1alpha1.GuardrailID]want{v1alpha1.GuardrailAnonymousBinding: {1, 0}}},
		"serviceaccount named like it":                                        {b: Binding{RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "x"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "system:anonymous", Namespace: "a"}}}},
		"a group named like a namespace's serviceaccounts, without the colon": {b: Binding{RoleRef: clusterRole("view"), Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:serviceaccountsx"}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := map[v1alpha1.GuardrailID]want{}
			for _, m := range MatchBindings(&tc.b, All()) {
				got[m.ID] = want{len(m.Subjects), m.Lower}
				if m.Lower > 0 && m.Note == "" {
					t.Errorf("%s graded lower without a note", m.ID)
				}
			}
			if len(tc.want) == 0 && len(got) == 0 {
				return
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPrefilterNeverHides checks that the fast candidate filter of MatchRole never
// drops a rule that the plain coverage check of each catalog entry matches.
func TestPrefilterNeverHides(t *testing.T) {
	vocab := struct{ groups, resources, verbs []string }{
		groups:    s("", "*", "apps", "batch", "rbac.authorization.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io", "authentication.k8s.io", "x"),
		resources: s("*", "pods", "pods/exec", "*/exec", "secrets", "nodes/proxy", "*/proxy", "nodes/*", "roles", "clusterroles", "users", "signers", "certificatesigningrequests/approval", "*/approval", "serviceaccounts/token", "namespaces", "deployments", "persistentvolumes", "validatingwebhookconfigurations", "userextras", "pods/ephemeralcontainers"),
		verbs:     s("*", "get", "list", "watch", "create", "update", "patch", "delete", "bind", "escalate", "impersonate", "approve"),
	}
	rng := rand.New(rand.NewSource(1))
	pick := func(xs []string) []string {
		n := 1 + rng.Intn(3)
		out := make([]string, n)
		for i := range out {
			out[i] = xs[rng.Intn(len(xs))]
		}
		return out
	}
	for i := 0; i < 3000; i++ {
		var rules []rbacv1.PolicyRule
		for j := 0; j < 1+rng.Intn(3); j++ {
			r := rule(pick(vocab.groups), pick(vocab.resources), pick(vocab.verbs))
			if rng.Intn(8) == 0 {
				r.ResourceNames = s("n")
			}
			rules = append(rules, r)
		}
		var fast, slow []v1alpha1.GuardrailID
		for _, m := range MatchRole(rules, All(), false) {
			fast = append(fast, m.ID)
		}
		for _, r := range Catalog() {
			if _, ok := r.MatchRole(rules); ok {
				slow = append(slow, r.ID)
			}
		}
		if !slices.Equal(fast, slow) {
			t.Fatalf("rules %v: fast %v, slow %v", rules, fast, slow)
		}
	}
}
