package webhook

import (
	"context"
	"errors"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// places lists where an Enforce baseline's namespaced declarations may be created: the
// namespaces its scope lists by name, or cluster-wide ("") when a namespaceSelector can
// match namespaces created later, whose permissions cannot be checked now.
func places(spec *v1alpha1.RoleBaselineSpec, scope *drift.Scope) []string {
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

// check is one thing the author must be allowed to do for the baseline to be enforced.
type check struct {
	// changed: the check comes from what this request adds or changes, so a refusal
	// names it first.
	changed bool
	run     func(context.Context) (string, error)
}

// checkEscalation returns why the requester could not make the writes an Enforce
// baseline makes the operator perform, the reasons caused by what this request changes
// first, or nil when they could. For every declared role and binding where it applies:
// create and update it (adopting an existing object overwrites it; a binding's roleRef
// change is a delete), hold its rules or escalate, bind its role or hold the role's
// rules. Removing subjects needs update on the bindings in scope; removing undeclared
// objects needs delete. Past the review budget it stops with what it has found.
func checkEscalation(ctx context.Context, rv *reviewer, spec, old *v1alpha1.RoleBaselineSpec, scope *drift.Scope,
	live func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool)) ([]string, error) {
	var reasons []string
	var budget errBudget
	for _, first := range []bool{true, false} {
		for _, c := range checksOf(rv, spec, old, scope, live) {
			if c.changed != first {
				continue
			}
			reason, err := c.run(ctx)
			if errors.As(err, &budget) && len(reasons) > 0 {
				return reasons, nil
			}
			if err != nil {
				return reasons, err
			}
			if reason != "" {
				reasons = append(reasons, reason)
			}
		}
	}
	return reasons, nil
}

func checksOf(rv *reviewer, spec, old *v1alpha1.RoleBaselineSpec, scope *drift.Scope,
	live func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool)) []check {
	nsPlaces := places(spec, scope)
	// A declared role's rules are what the operator keeps it at, so they are what a
	// binding to it grants; otherwise the live role's rules.
	rulesOf := func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool) {
		if d := spec.RoleAt(kind, namespace, name); d != nil {
			return v1alpha1.RBACRules(d.Rules), true
		}
		return live(kind, namespace, name)
	}
	// A declaration that lists its namespaces is written there only.
	placesOf := func(kind string, declared ...string) []string {
		if len(declared) > 0 {
			return declared
		}
		if kind == drift.KindClusterRole || kind == drift.KindClusterRoleBinding {
			if scope.ClusterScoped() {
				return []string{""}
			}
			return nil
		}
		return nsPlaces
	}
	scopeChanged := old == nil || old.Mode != v1alpha1.ModeEnforce || !equality.Semantic.DeepEqual(old.Scope, spec.Scope)

	var checks []check
	for i := range spec.Roles {
		d := &spec.Roles[i]
		changed := scopeChanged || !hasRole(old, d)
		for _, ns := range placesOf(string(d.Kind), d.Namespaces...) {
			checks = append(checks,
				check{changed, func(ctx context.Context) (string, error) {
					return rv.mayWrite(ctx, roleResource(string(d.Kind)), ns, d.Name, placeText(string(d.Kind), ns, d.Name), "create", "update")
				}},
				check{changed, func(ctx context.Context) (string, error) { return rv.canCreateRole(ctx, d, ns) }})
		}
	}
	for i := range spec.Bindings {
		d := &spec.Bindings[i]
		changed := scopeChanged || !hasBinding(old, d)
		for _, ns := range placesOf(string(d.Kind), d.Namespaces...) {
			checks = append(checks,
				// delete: a changed roleRef is put back by deleting and recreating the binding.
				check{changed, func(ctx context.Context) (string, error) {
					return rv.mayWrite(ctx, bindingResource(string(d.Kind)), ns, d.Name, placeText(string(d.Kind), ns, d.Name), "create", "update", "delete")
				}},
				check{changed, func(ctx context.Context) (string, error) { return rv.canCreateBinding(ctx, d, ns, rulesOf) }})
		}
	}
	if spec.Enforcement.EffectiveViolations() == v1alpha1.ViolationRemoveSubjects {
		changed := scopeChanged || old.Enforcement.EffectiveViolations() != v1alpha1.ViolationRemoveSubjects
		for _, kind := range []string{drift.KindRoleBinding, drift.KindClusterRoleBinding} {
			for _, ns := range placesOf(kind) {
				checks = append(checks, check{changed, func(ctx context.Context) (string, error) {
					return rv.removal(ctx, "update", bindingResource(kind), ns,
						"violations: RemoveSubjects removes subjects from any binding in scope that grants a violation")
				}})
			}
		}
	}
	if spec.Unmanaged == v1alpha1.UnmanagedRemove {
		changed := scopeChanged || old.Unmanaged != v1alpha1.UnmanagedRemove
		// Removing undeclared objects deletes what others granted: the author must be
		// allowed to delete them too.
		for _, kind := range []string{drift.KindRole, drift.KindRoleBinding, drift.KindClusterRole, drift.KindClusterRoleBinding} {
			res := roleResource(kind)
			if kind == drift.KindRoleBinding || kind == drift.KindClusterRoleBinding {
				res = bindingResource(kind)
			}
			for _, ns := range placesOf(kind) {
				checks = append(checks, check{changed, func(ctx context.Context) (string, error) {
					return rv.removal(ctx, "delete", res, ns, "unmanaged: Remove deletes undeclared objects")
				}})
			}
		}
	}
	return checks
}

// mayWrite: the requester may perform each verb on the named object there.
func (rv *reviewer) mayWrite(ctx context.Context, resource, namespace, name, what string, verbs ...string) (string, error) {
	for _, verb := range verbs {
		a := rbacAccess(verb, resource, namespace, name)
		ok, err := rv.allowed(ctx, a)
		if err != nil || ok {
			if err != nil {
				return "", err
			}
			continue
		}
		return fmt.Sprintf("the operator would %s %s for you, and you may not %s", verb, what, a), nil
	}
	return "", nil
}

// removal: the requester may perform verb on every object of resource there.
func (rv *reviewer) removal(ctx context.Context, verb, resource, namespace, why string) (string, error) {
	a := rbacAccess(verb, resource, namespace, "")
	ok, err := rv.allowed(ctx, a)
	if err != nil || ok {
		return "", err
	}
	return why + ", and you may not " + a.String(), nil
}

func roleResource(kind string) string {
	if kind == drift.KindClusterRole {
		return "clusterroles"
	}
	return "roles"
}

func bindingResource(kind string) string {
	if kind == drift.KindClusterRoleBinding {
		return "clusterrolebindings"
	}
	return "rolebindings"
}

func hasRole(old *v1alpha1.RoleBaselineSpec, d *v1alpha1.DesiredRole) bool {
	return old != nil && containsEqual(old.Roles, d)
}

func hasBinding(old *v1alpha1.RoleBaselineSpec, d *v1alpha1.DesiredBinding) bool {
	return old != nil && containsEqual(old.Bindings, d)
}

// containsEqual: list holds an element semantically equal to *x.
func containsEqual[T any](list []T, x *T) bool {
	for i := range list {
		if equality.Semantic.DeepEqual(&list[i], x) {
			return true
		}
	}
	return false
}

func asBudget(err error, target *errBudget) bool { return errors.As(err, target) }
