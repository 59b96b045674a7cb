package v1alpha1

import rbacv1 "k8s.io/api/rbac/v1"

// RBAC returns the rule as an rbac.authorization.k8s.io/v1 PolicyRule.
func (r PolicyRule) RBAC() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources,
		ResourceNames: r.ResourceNames, NonResourceURLs: r.NonResourceURLs}
}

// RBACRules converts a list of rules.
func RBACRules(rules []PolicyRule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i, r := range rules {
		out[i] = r.RBAC()
	}
	return out
}

// RBAC returns the subject as an rbac.authorization.k8s.io/v1 Subject.
func (s Subject) RBAC() rbacv1.Subject {
	return rbacv1.Subject{Kind: string(s.Kind), APIGroup: s.APIGroup, Name: s.Name, Namespace: s.Namespace}
}

// RBAC returns the reference as an rbac.authorization.k8s.io/v1 RoleRef.
func (r RoleRef) RBAC() rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: RBACGroup, Kind: string(r.Kind), Name: r.Name}
}
