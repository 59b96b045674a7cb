package guardrails

import (
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestSteps: which grants lead to other identities (Kubernetes RBAC good practices,
// "Privilege escalation risks"), and that a namespaced grant has no cluster-scoped step.
func TestSteps(t *testing.T) {
	named := func(group, resource, verb string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: s(group), Resources: s(resource), Verbs: s(verb), ResourceNames: names}
	}
	tests := map[string]struct {
		rules      []rbacv1.PolicyRule
		namespaced bool
		want       string
	}{
		"read only":         {rules: []rbacv1.PolicyRule{rule(s(""), s("pods", "secrets"), s("get", "list"))}, want: "[]"},
		"create pods":       {rules: []rbacv1.PolicyRule{rule(s(""), s("pods"), s("create"))}, want: "[create pods]"},
		"create jobs":       {rules: []rbacv1.PolicyRule{rule(s("batch"), s("jobs"), s("create"))}, want: "[create pods]"},
		"named token":       {rules: []rbacv1.PolicyRule{named("", "serviceaccounts/token", "create", "ci")}, want: "[create serviceaccounts/token[ci]]"},
		"impersonate users": {rules: []rbacv1.PolicyRule{rule(s(""), s("users"), s("impersonate"))}, want: "[impersonate users]"},
		"impersonate in a Role reaches ServiceAccounts only": {rules: []rbacv1.PolicyRule{rule(s(""), s("users", "serviceaccounts"), s("impersonate"))}, namespaced: true,
			want: "[impersonate serviceaccounts]"},
		"bind needs a binding write": {rules: []rbacv1.PolicyRule{rule(s(rbacv1.GroupName), s("roles"), s("bind"))}, want: "[]"},
		"bind named roles": {rules: []rbacv1.PolicyRule{named(rbacv1.GroupName, "clusterroles", "bind", "view"), rule(s(rbacv1.GroupName), s("rolebindings"), s("create"))},
			want: "[bind roles[view]]"},
		"escalate needs a role write": {rules: []rbacv1.PolicyRule{rule(s(rbacv1.GroupName), s("roles"), s("escalate"))}, want: "[]"},
		"escalate and update":         {rules: []rbacv1.PolicyRule{rule(s(rbacv1.GroupName), s("roles"), s("escalate", "update"))}, want: "[escalate roles]"},
		"nodes/proxy":                 {rules: []rbacv1.PolicyRule{rule(s(""), s("nodes/proxy"), s("get"))}, want: "[nodes/proxy (kubelet exec)]"},
		"nodes/proxy in a Role":       {rules: []rbacv1.PolicyRule{rule(s(""), s("nodes/proxy"), s("get"))}, namespaced: true, want: "[]"},
		"CSR approval for the client signer": {rules: []rbacv1.PolicyRule{rule(s("certificates.k8s.io"), s("certificatesigningrequests"), s("create")),
			rule(s("certificates.k8s.io"), s("certificatesigningrequests/approval"), s("update")),
			named("certificates.k8s.io", "signers", "approve", "kubernetes.io/kube-apiserver-client")}, want: "[approve client certificates]"},
		"everything": {rules: []rbacv1.PolicyRule{rule(s("*"), s("*"), s("*"))},
			want: "[create pods create serviceaccounts/token impersonate users impersonate groups impersonate serviceaccounts bind roles escalate roles nodes/proxy (kubelet exec) approve client certificates]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, st := range Steps(tc.rules, tc.namespaced) {
				x := st.Kind.String()
				if st.Names != nil {
					x += fmt.Sprint(st.Names)
				}
				got = append(got, x)
			}
			if g := fmt.Sprint(got); g != tc.want && (len(got) != 0 || tc.want != "[]") {
				t.Errorf("got %s, want %s", g, tc.want)
			}
		})
	}
}
