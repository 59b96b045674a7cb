package audit

import (
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

func TestParseReason(t *testing.T) {
	user := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	tests := map[string]struct {
		in      string
		want    Grant
		wantErr bool
	}{
		"ClusterRoleBinding to a user": {
			in:   `RBAC: allowed by ClusterRoleBinding "admins" of ClusterRole "cluster-admin" to User "alice"`,
			want: Grant{Binding: drift.ObjectRef{Kind: "ClusterRoleBinding", Name: "admins"}, RoleKind: "ClusterRole", RoleName: "cluster-admin", Subject: user("alice")},
		},
		"RoleBinding of a Role to a ServiceAccount": {
			in: `RBAC: allowed by RoleBinding "deployer/team-a" of Role "deploy" to ServiceAccount "ci/tools"`,
			want: Grant{Binding: drift.ObjectRef{Kind: "RoleBinding", Namespace: "team-a", Name: "deployer"}, RoleKind: "Role", RoleName: "deploy",
				Subject: rbacv1.Subject{Kind: "ServiceAccount", Namespace: "tools", Name: "ci"}},
		},
		"RoleBinding of a ClusterRole to a group": {
			in: `RBAC: allowed by RoleBinding "view/team-a" of ClusterRole "view" to Group "system:authenticated"`,
			want: Grant{Binding: drift.ObjectRef{Kind: "RoleBinding", Namespace: "team-a", Name: "view"}, RoleKind: "ClusterRole", RoleName: "view",
				Subject: rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:authenticated"}},
		},
		"names with quotes and spaces round-trip": {
			in: fmt.Sprintf("RBAC: allowed by ClusterRoleBinding %q of ClusterRole %q to User %q", "b", "r", `o"dd " to User "x`),
			want: Grant{Binding: drift.ObjectRef{Kind: "ClusterRoleBinding", Name: "b"}, RoleKind: "ClusterRole", RoleName: "r",
				Subject: user(`o"dd " to User "x`)},
		},
		"other authorizer":                 {in: `allowed by Node authorizer`, wantErr: true},
		"truncated":                        {in: `RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to User`, wantErr: true},
		"trailing text":                    {in: `RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to User "c" and more`, wantErr: true},
		"unquoted name":                    {in: `RBAC: allowed by ClusterRoleBinding a of ClusterRole "b" to User "c"`, wantErr: true},
		"unknown binding kind":             {in: `RBAC: allowed by Binding "a" of ClusterRole "b" to User "c"`, wantErr: true},
		"ClusterRoleBinding of a Role":     {in: `RBAC: allowed by ClusterRoleBinding "a" of Role "b" to User "c"`, wantErr: true},
		"RoleBinding without namespace":    {in: `RBAC: allowed by RoleBinding "a" of Role "b" to User "c"`, wantErr: true},
		"ServiceAccount without namespace": {in: `RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to ServiceAccount "c"`, wantErr: true},
		"unknown subject kind":             {in: `RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "b" to Robot "c"`, wantErr: true},
		"empty role name":                  {in: `RBAC: allowed by ClusterRoleBinding "a" of ClusterRole "" to User "c"`, wantErr: true},
		"bad escape in quoted name":        {in: `RBAC: allowed by ClusterRoleBinding "a\q" of ClusterRole "b" to User "c"`, wantErr: true},
		"missing of":                       {in: `RBAC: allowed by ClusterRoleBinding "a" ClusterRole "b" to User "c"`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseReason(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseReason(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("ParseReason(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzParseReason: any input parses or errors without panicking, and what parses
// renders back, in the authorizer's own format, to the same grant.
func FuzzParseReason(f *testing.F) {
	f.Add(`RBAC: allowed by ClusterRoleBinding "admins" of ClusterRole "cluster-admin" to User "alice"`)
	f.Add(`RBAC: allowed by RoleBinding "x/ns" of Role "y" to ServiceAccount "sa/ns"`)
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseReason(s)
		if err != nil {
			return
		}
		back, err := ParseReason(render(g))
		if err != nil || back != g {
			t.Fatalf("%q parsed to %+v, which renders to %q and parses to %+v, %v", s, g, render(g), back, err)
		}
	})
}

// render writes a grant as pkg/registry/rbac/validation/rule.go describes it.
func render(g Grant) string {
	b := g.Binding.Name
	if g.Binding.Kind == drift.KindRoleBinding {
		b += "/" + g.Binding.Namespace
	}
	s := g.Subject.Name
	if g.Subject.Kind == rbacv1.ServiceAccountKind {
		s += "/" + g.Subject.Namespace
	}
	return fmt.Sprintf("RBAC: allowed by %s %q of %s %q to %s %q", g.Binding.Kind, b, g.RoleKind, g.RoleName, g.Subject.Kind, s)
}
