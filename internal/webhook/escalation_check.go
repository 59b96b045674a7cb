package webhook

import (
	"context"
	"errors"

	rbacv1 "k8s.io/api/rbac/v1"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// places lists where an Enforce baseline's namespaced declarations may be created: the
// namespaces its scope lists by name, or cluster-wide ("") when a namespaceSelector can
// match namespaces created later, whose permissions cannot be checked now.
func places(spec *v1.RoleBaselineSpec, scope *drift.Scope) []string {
	if spec.Scope.NamespaceSelector != nil {
		return []string{""}
	}
	var out []string
	for _, ns := range spec.Scope.Namespaces {
		if scope.SelectsNamespace(ns, nil) {
			out = append(out, ns)
		}
	}
	return out
}

// checkEscalation returns why the requester could not create what an Enforce baseline
// makes the operator create, bind or remove, or "" when they could.
func checkEscalation(ctx context.Context, rv *reviewer, spec *v1.RoleBaselineSpec, scope *drift.Scope,
	live func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool)) (string, error) {
	nsPlaces := places(spec, scope)
	declared := map[declKey][]rbacv1.PolicyRule{}
	for i := range spec.Roles {
		declared[declKey{string(spec.Roles[i].Kind), spec.Roles[i].Name}] = v1.RBACRules(spec.Roles[i].Rules)
	}
	// A declared role's rules are what the operator keeps it at, so they are what a
	// binding to it grants; otherwise the live role's rules.
	rulesOf := func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool) {
		if rules, ok := declared[declKey{kind, name}]; ok {
			return rules, true
		}
		return live(kind, namespace, name)
	}
	placesOf := func(kind string) []string {
		if kind == drift.KindClusterRole || kind == drift.KindClusterRoleBinding {
			if scope.ClusterScoped() {
				return []string{""}
			}
			return nil
		}
		return nsPlaces
	}
	for i := range spec.Roles {
		d := &spec.Roles[i]
		for _, ns := range placesOf(string(d.Kind)) {
			if reason, err := rv.canCreateRole(ctx, d, ns); reason != "" || err != nil {
				return reason, err
			}
		}
	}
	for i := range spec.Bindings {
		d := &spec.Bindings[i]
		for _, ns := range placesOf(string(d.Kind)) {
			if reason, err := rv.canCreateBinding(ctx, d, ns, rulesOf); reason != "" || err != nil {
				return reason, err
			}
		}
	}
	if spec.Unmanaged == v1.UnmanagedRemove {
		// Removing undeclared objects deletes what others granted: the author must be
		// allowed to delete them too.
		for _, res := range []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"} {
			kind := map[string]string{"roles": drift.KindRole, "rolebindings": drift.KindRoleBinding,
				"clusterroles": drift.KindClusterRole, "clusterrolebindings": drift.KindClusterRoleBinding}[res]
			for _, ns := range placesOf(kind) {
				a := rbacAccess("delete", res, ns, "")
				ok, err := rv.allowed(ctx, a)
				if err != nil {
					return "", err
				}
				if !ok {
					return "unmanaged: Remove deletes undeclared objects, and you may not " + a.String(), nil
				}
			}
		}
	}
	return "", nil
}

func asBudget(err error, target *errBudget) bool { return errors.As(err, target) }
