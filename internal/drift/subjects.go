package drift

import (
	"slices"
	"strings"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// subjectKey identifies a subject after defaulting; comparable, used as a map key.
type subjectKey struct {
	kind, apiGroup, namespace, name string
}

// normalizeSubject applies the rbac/v1 defaults: User and Group default to apiGroup
// rbac.authorization.k8s.io, ServiceAccount to "". A ServiceAccount without a
// namespace on a RoleBinding means the binding's namespace, as the RBAC authorizer
// reads it (plugin/pkg/auth/authorizer/rbac appliesToUser); bindingNS is "" for
// ClusterRoleBindings, where no defaulting happens.
func normalizeSubject(s rbacv1.Subject, bindingNS string) rbacv1.Subject {
	if s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
		s.APIGroup = rbacv1.GroupName
	}
	if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
		s.Namespace = bindingNS
	}
	return s
}

func keyOf(s rbacv1.Subject) subjectKey {
	return subjectKey{s.Kind, s.APIGroup, s.Namespace, s.Name}
}

func toRBACSubject(s v1alpha1.Subject) rbacv1.Subject {
	return rbacv1.Subject{Kind: string(s.Kind), APIGroup: s.APIGroup, Name: s.Name, Namespace: s.Namespace}
}

func toAPISubject(s rbacv1.Subject) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKind(s.Kind), APIGroup: s.APIGroup, Name: s.Name, Namespace: s.Namespace}
}

// diffSubjects compares subject sets after defaulting: added are live-only, removed
// declared-only. Order and duplicates are not drift. Both results are sorted.
func diffSubjects(desired []v1alpha1.Subject, live []rbacv1.Subject, bindingNS string) (added, removed []rbacv1.Subject) {
	want := make(map[subjectKey]bool, len(desired))
	for _, s := range desired {
		want[keyOf(normalizeSubject(toRBACSubject(s), bindingNS))] = true
	}
	have := make(map[subjectKey]bool, len(live))
	for _, s := range live {
		n := normalizeSubject(s, bindingNS)
		k := keyOf(n)
		if !have[k] && !want[k] {
			added = append(added, n)
		}
		have[k] = true
	}
	seen := make(map[subjectKey]bool, len(desired))
	for _, s := range desired {
		n := normalizeSubject(toRBACSubject(s), bindingNS)
		k := keyOf(n)
		if !have[k] && !seen[k] {
			removed = append(removed, n)
		}
		seen[k] = true
	}
	slices.SortFunc(added, compareSubjects)
	slices.SortFunc(removed, compareSubjects)
	return added, removed
}

func compareSubjects(a, b rbacv1.Subject) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.APIGroup, b.APIGroup)
}

func describeSubjects(ss []rbacv1.Subject) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = describeSubject(s)
	}
	return strings.Join(parts, ", ")
}

func describeSubject(s rbacv1.Subject) string { return guardrails.DescribeSubject(s) }

// impliedGroups lists the groups every request of an authenticated subject carries:
// all ServiceAccounts are in system:serviceaccounts and system:serviceaccounts:<ns>,
// and every authenticated user or ServiceAccount in system:authenticated.
func impliedGroups(s rbacv1.Subject) []rbacv1.Subject {
	g := func(name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return []rbacv1.Subject{g("system:serviceaccounts"), g("system:serviceaccounts:" + s.Namespace), g("system:authenticated")}
	case rbacv1.UserKind:
		if s.Name == "system:anonymous" {
			return []rbacv1.Subject{g("system:unauthenticated")}
		}
		return []rbacv1.Subject{g("system:authenticated")}
	}
	return nil
}

// NormalizeSubject is s as the authorizer matches it, defaults filled in (a
// ServiceAccount without namespace is in its RoleBinding's, bindingNS).
func NormalizeSubject(s rbacv1.Subject, bindingNS string) rbacv1.Subject {
	return normalizeSubject(s, bindingNS)
}

// SameSubject reports whether two subjects are one identity, once normalized.
func SameSubject(a, b rbacv1.Subject) bool {
	return keyOf(normalizeSubject(a, "")) == keyOf(normalizeSubject(b, ""))
}

// ImpliedGroups lists the groups every request of subject s carries.
func ImpliedGroups(s rbacv1.Subject) []rbacv1.Subject { return impliedGroups(s) }
