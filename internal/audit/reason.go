package audit

import (
	"fmt"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// reasonPrefix starts the reason the RBAC authorizer gives for an allowed request.
const reasonPrefix = "RBAC: allowed by "

// Grant is what an authorization.k8s.io/reason annotation of the RBAC authorizer
// names: the binding, its role and the binding's subject that matched the user.
type Grant struct {
	Binding  drift.ObjectRef
	RoleKind string
	RoleName string
	// Subject is normalized: apiGroup set for users and groups, a ServiceAccount's namespace always set.
	Subject rbacv1.Subject
}

// ParseReason parses the reason the RBAC authorizer writes (k8s.io/kubernetes
// plugin/pkg/auth/authorizer/rbac and pkg/registry/rbac/validation/rule.go):
//
//	RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"
//	RBAC: allowed by RoleBinding "b/ns" of Role "r" to ServiceAccount "sa/ns"
//
// Names are Go-quoted (%q), so any user or group name round-trips.
func ParseReason(s string) (Grant, error) {
	var g Grant
	rest, ok := strings.CutPrefix(s, reasonPrefix)
	if !ok {
		return g, fmt.Errorf("reason %q does not start with %q", s, reasonPrefix)
	}
	bKind, bName, rest, err := kindAndQuoted(rest)
	if err != nil {
		return g, fmt.Errorf("reason %q: binding: %w", s, err)
	}
	if rest, ok = strings.CutPrefix(rest, " of "); !ok {
		return g, fmt.Errorf("reason %q: want ` of ` after the binding", s)
	}
	if g.RoleKind, g.RoleName, rest, err = kindAndQuoted(rest); err != nil {
		return g, fmt.Errorf("reason %q: role: %w", s, err)
	}
	if rest, ok = strings.CutPrefix(rest, " to "); !ok {
		return g, fmt.Errorf("reason %q: want ` to ` after the role", s)
	}
	sKind, sName, rest, err := kindAndQuoted(rest)
	if err != nil {
		return g, fmt.Errorf("reason %q: subject: %w", s, err)
	}
	if rest != "" {
		return g, fmt.Errorf("reason %q: unexpected %q after the subject", s, rest)
	}
	switch bKind {
	case drift.KindClusterRoleBinding:
		g.Binding = drift.ObjectRef{Kind: bKind, Name: bName}
		if g.RoleKind != drift.KindClusterRole {
			return g, fmt.Errorf("reason %q: a ClusterRoleBinding grants a ClusterRole, not a %s", s, g.RoleKind)
		}
	case drift.KindRoleBinding:
		name, ns, ok := strings.Cut(bName, "/")
		if !ok || name == "" || ns == "" {
			return g, fmt.Errorf("reason %q: RoleBinding %q is not name/namespace", s, bName)
		}
		g.Binding = drift.ObjectRef{Kind: bKind, Namespace: ns, Name: name}
		if g.RoleKind != drift.KindClusterRole && g.RoleKind != drift.KindRole {
			return g, fmt.Errorf("reason %q: role kind %q is neither Role nor ClusterRole", s, g.RoleKind)
		}
	default:
		return g, fmt.Errorf("reason %q: binding kind %q is neither RoleBinding nor ClusterRoleBinding", s, bKind)
	}
	if g.RoleName == "" || g.Binding.Name == "" {
		return g, fmt.Errorf("reason %q: empty binding or role name", s)
	}
	switch sKind {
	case rbacv1.UserKind, rbacv1.GroupKind:
		g.Subject = rbacv1.Subject{Kind: sKind, APIGroup: rbacv1.GroupName, Name: sName}
	case rbacv1.ServiceAccountKind:
		name, ns, ok := strings.Cut(sName, "/")
		if !ok || name == "" || ns == "" {
			return g, fmt.Errorf("reason %q: ServiceAccount %q is not name/namespace", s, sName)
		}
		g.Subject = rbacv1.Subject{Kind: sKind, Namespace: ns, Name: name}
	default:
		return g, fmt.Errorf("reason %q: subject kind %q is not User, Group or ServiceAccount", s, sKind)
	}
	return g, nil
}

// kindAndQuoted reads `Kind "quoted"` and returns the rest of s.
func kindAndQuoted(s string) (kind, value, rest string, err error) {
	kind, rest, ok := strings.Cut(s, " ")
	if !ok || kind == "" {
		return "", "", "", fmt.Errorf("want a kind followed by a quoted name in %q", s)
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", "", "", fmt.Errorf("want a quoted name in %q", rest)
	}
	value, err = strconv.Unquote(q)
	if err != nil {
		return "", "", "", err
	}
	return kind, value, rest[len(q):], nil
}
