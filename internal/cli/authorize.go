package cli

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// authorizer answers RBAC questions over a snapshot as the API server's RBAC
// authorizer does: a request in a namespace is allowed by a ClusterRoleBinding or a
// RoleBinding of that namespace naming the user or one of its groups, through a rule
// that covers it (validation.Covers: wildcards, subresources, names, URL prefixes).
type authorizer struct {
	roles map[drift.ObjectRef][]rbacv1.PolicyRule
	// bindings by the subjects they name, normalized; RoleBindings under their namespace.
	cluster map[rbacv1.Subject][]*boundTo
	ns      map[string]map[rbacv1.Subject][]*boundTo
}

type boundTo struct {
	binding v1alpha1.ObjectReference
	role    drift.ObjectRef
}

func newAuthorizer(s *drift.Snapshot) *authorizer {
	a := &authorizer{roles: map[drift.ObjectRef][]rbacv1.PolicyRule{}, cluster: map[rbacv1.Subject][]*boundTo{},
		ns: map[string]map[rbacv1.Subject][]*boundTo{}}
	for _, r := range s.ClusterRoles {
		a.roles[drift.ObjectRef{Kind: drift.KindClusterRole, Name: r.Name}] = r.Rules
	}
	for _, r := range s.Roles {
		a.roles[drift.ObjectRef{Kind: drift.KindRole, Namespace: r.Namespace, Name: r.Name}] = r.Rules
	}
	for _, b := range s.ClusterRoleBindings {
		bt := &boundTo{binding: v1alpha1.ObjectReference{Kind: drift.KindClusterRoleBinding, Name: b.Name},
			role: drift.ObjectRef{Kind: drift.KindClusterRole, Name: b.RoleRef.Name}}
		for _, sub := range b.Subjects {
			k := key(drift.NormalizeSubject(sub, ""))
			a.cluster[k] = append(a.cluster[k], bt)
		}
	}
	for _, b := range s.RoleBindings {
		role := drift.ObjectRef{Kind: drift.KindClusterRole, Name: b.RoleRef.Name}
		if b.RoleRef.Kind == drift.KindRole {
			role = drift.ObjectRef{Kind: drift.KindRole, Namespace: b.Namespace, Name: b.RoleRef.Name}
		}
		bt := &boundTo{binding: v1alpha1.ObjectReference{Kind: drift.KindRoleBinding, Namespace: b.Namespace, Name: b.Name}, role: role}
		m := a.ns[b.Namespace]
		if m == nil {
			m = map[rbacv1.Subject][]*boundTo{}
			a.ns[b.Namespace] = m
		}
		for _, sub := range b.Subjects {
			k := key(drift.NormalizeSubject(sub, b.Namespace))
			m[k] = append(m[k], bt)
		}
	}
	return a
}

// key is a subject as a map key: normalized, the apiGroup dropped (it is implied by
// the kind once normalized).
func key(s rbacv1.Subject) rbacv1.Subject {
	s.APIGroup = ""
	return s
}

// grants lists each binding, role and rule that allows req to one of who (the user
// first, then its groups); all of them when all, else the first.
func (a *authorizer) grants(who []rbacv1.Subject, req request, all bool) []grant {
	want := []rbacv1.PolicyRule{req.asRule()}
	var out []grant
	check := func(bts []*boundTo, via rbacv1.Subject, namespaced bool) bool {
		for _, bt := range bts {
			for _, rule := range a.roles[bt.role] {
				if namespaced && len(rule.NonResourceURLs) > 0 {
					continue // a RoleBinding cannot grant non-resource URLs
				}
				if ok, _ := validation.Covers([]rbacv1.PolicyRule{rule}, want); !ok {
					continue
				}
				g := grant{Binding: bt.binding, Role: roleRef(bt.role), Rule: drift.ToAPIRules(rule)[0]}
				if !drift.SameSubject(via, who[0]) {
					s := apiSubject(via)
					g.Via = &s
				}
				out = append(out, g)
				if !all {
					return true
				}
			}
		}
		return false
	}
	for _, w := range who {
		k := key(drift.NormalizeSubject(w, ""))
		if check(a.cluster[k], w, false) {
			return out
		}
		if req.namespace != "" && req.url == "" && check(a.ns[req.namespace][k], w, true) {
			return out
		}
	}
	return out
}

func roleRef(r drift.ObjectRef) v1alpha1.ObjectReference {
	return v1alpha1.ObjectReference{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}
