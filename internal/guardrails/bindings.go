package guardrails

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Binding is what a binding rule judges: the binding's roleRef, subjects and
// namespace, and the rules of the role it grants.
type Binding struct {
	RoleRef  rbacv1.RoleRef
	Subjects []rbacv1.Subject
	// Namespace is a RoleBinding's namespace; empty for a ClusterRoleBinding.
	Namespace string
	// Role holds the bound role's effective rules; RoleFound is false when it does not exist.
	Role      []rbacv1.PolicyRule
	RoleFound bool
}

// MatchBindings returns the binding rules in enabled that a binding matches, in catalog order.
func MatchBindings(b *Binding, enabled Set) []Match {
	var out []Match
	for i := range catalog {
		r := &catalog[i]
		if r.Target != TargetBinding || enabled&(1<<uint(i)) == 0 {
			continue
		}
		if m, ok := r.binding(b); ok {
			m.ID = r.ID
			out = append(out, m)
		}
	}
	return out
}

// matchClusterAdminBinding: a RoleBinding grants cluster-admin's rules in its own
// namespace only, which is one step less than the whole cluster.
func matchClusterAdminBinding(b *Binding) (Match, bool) {
	if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "cluster-admin" || len(b.Subjects) == 0 {
		return Match{}, false
	}
	m := Match{Subjects: slices.Clone(b.Subjects)}
	if b.Namespace != "" {
		m.Lower = 1
		m.Note = "in namespace " + b.Namespace + " only (a RoleBinding)"
	}
	return m, true
}

// everyone are the groups that stand for everyone, or for everyone of a kind.
var everyone = map[string]bool{
	"system:anonymous":       true, // a User
	"system:unauthenticated": true,
	"system:authenticated":   true,
	"system:serviceaccounts": true,
}

// Broad reports whether s stands for many identities: anonymous, unauthenticated,
// all authenticated, all ServiceAccounts (of the cluster or of one namespace), or
// system:masters, which always has every permission.
func Broad(s rbacv1.Subject) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return s.Name == "system:anonymous"
	case rbacv1.GroupKind:
		return everyone[s.Name] || s.Name == "system:masters" || strings.HasPrefix(s.Name, "system:serviceaccounts:")
	}
	return false
}

// matchAnonymousBinding flags broad subjects. Its grade weighs what the bound role
// grants: discovery and self-review only (the bootstrap system:discovery,
// system:basic-user and system:public-info-viewer) is three steps lower, reading one
// step lower, and anything more (writes, or a dangerous grant) keeps the rule's
// severity, as does binding system:masters, which names unconditional admin.
func matchAnonymousBinding(b *Binding) (Match, bool) {
	var m Match
	masters := false
	for _, s := range b.Subjects {
		if Broad(s) {
			m.Subjects = append(m.Subjects, s)
			masters = masters || s.Name == "system:masters"
		}
	}
	if len(m.Subjects) == 0 {
		return Match{}, false
	}
	if masters {
		return m, true
	}
	what := fmt.Sprintf("%s %s", b.RoleRef.Kind, b.RoleRef.Name)
	switch g := grantClass(b.Role, b.Namespace != ""); {
	case !b.RoleFound:
		m.Lower, m.Note = 1, what+" does not exist: it grants nothing until someone creates it"
	case g == grantsDiscovery:
		m.Lower, m.Note = 3, what+" grants only discovery and self-review"
	case g == grantsRead:
		m.Lower, m.Note = 1, what+" grants read access"
	default:
		m.Note = what + " grants writes or a dangerous permission"
	}
	return m, true
}

// dangerous is MatchRole with every rule on; set in init, since the catalog refers
// to grantClass.
var dangerous func(rules []rbacv1.PolicyRule, namespaced bool) []Match

func init() {
	dangerous = func(rules []rbacv1.PolicyRule, namespaced bool) []Match { return MatchRole(rules, All(), namespaced) }
}

type grant int

const (
	grantsDiscovery grant = iota
	grantsRead
	grantsMore
)

// selfReview are the requests every identity may make about itself.
var selfReview = map[string]map[string]bool{
	"authorization.k8s.io":  set("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
	"authentication.k8s.io": set("selfsubjectreviews"),
}

// grantClass says how much rules grant: discovery (non-resource reads and
// self-reviews), reads (get, list, watch that no role guardrail flags), or more.
func grantClass(rules []rbacv1.PolicyRule, namespaced bool) grant {
	if len(dangerous(rules, namespaced)) > 0 {
		return grantsMore
	}
	g := grantsDiscovery
	for i := range rules {
		r := &rules[i]
		if len(r.NonResourceURLs) > 0 {
			if !onlyVerbs(r.Verbs, "get", "head") {
				return grantsMore
			}
			continue
		}
		if onlySelfReview(r) {
			continue
		}
		if !onlyVerbs(r.Verbs, "get", "list", "watch") {
			return grantsMore
		}
		g = grantsRead
	}
	return g
}

func onlyVerbs(verbs []string, allowed ...string) bool {
	for _, v := range verbs {
		if !slices.Contains(allowed, v) {
			return false
		}
	}
	return true
}

func onlySelfReview(r *rbacv1.PolicyRule) bool {
	if !onlyVerbs(r.Verbs, "create") {
		return false
	}
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			if !selfReview[g][res] {
				return false
			}
		}
	}
	return len(r.APIGroups) > 0
}
