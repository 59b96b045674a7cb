// Package grants decides what a RoleBaseline's spec.grants policy allows an
// AccessGrant: which rule matches it, and when none does, why each refuses, naming
// the field. It is pure: the admission webhook and the controller both ask it.
package grants

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// Request is a grant as the policy judges it: the spec, and who asks.
type Request struct {
	Spec *v1alpha1.AccessGrantSpec
	// Requester is the user the API server authenticated; Groups are theirs.
	Requester string
	Groups    []string
	// InScope reports whether the baseline's scope selects a namespace; a rule without
	// namespaces allows those.
	InScope func(namespace string) bool
}

// SubjectOf is who a grant gives access to: its subject, or else the requester (a
// ServiceAccount when the user name is one's).
func SubjectOf(spec *v1alpha1.AccessGrantSpec, requester string) rbacv1.Subject {
	if spec.Subject != nil {
		return spec.Subject.RBAC()
	}
	if parts := strings.Split(requester, ":"); len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: parts[2], Name: parts[3]}
	}
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: requester}
}

// Match returns the first rule of policy (baseline's) that allows r, or an error
// that names, for each rule, the first field it refuses.
func Match(baseline string, policy []v1alpha1.GrantPolicy, r Request) (*v1alpha1.GrantPolicy, error) {
	if len(policy) == 0 {
		return nil, fmt.Errorf("RoleBaseline %s has no spec.grants: it allows no AccessGrant", baseline)
	}
	var why []string
	for i := range policy {
		rule := &policy[i]
		err := check(rule, r)
		if err == nil {
			return rule, nil
		}
		why = append(why, fmt.Sprintf("rule %s: %v", rule.Name, err))
	}
	return nil, fmt.Errorf("no rule of RoleBaseline %s's spec.grants allows this grant: %s", baseline, strings.Join(why, "; "))
}

func check(rule *v1alpha1.GrantPolicy, r Request) error {
	s := r.Spec
	if !slices.Contains(rule.Roles, s.Role) {
		return fmt.Errorf("spec.role: %s %s is not among its roles (%s)", s.Role.Kind, s.Role.Name, roleList(rule.Roles))
	}
	if len(s.Namespaces) == 0 {
		if s.Role.Kind != v1alpha1.KindClusterRole || !rule.ClusterWide {
			return fmt.Errorf("spec.namespaces: it allows no cluster-wide grant: name the namespaces")
		}
	}
	for _, ns := range s.Namespaces {
		switch {
		case len(rule.Namespaces) > 0 && !slices.Contains(rule.Namespaces, ns):
			return fmt.Errorf("spec.namespaces: namespace %s is not among its namespaces (%s)", ns, strings.Join(rule.Namespaces, ", "))
		case len(rule.Namespaces) == 0 && r.InScope != nil && !r.InScope(ns):
			return fmt.Errorf("spec.namespaces: namespace %s is outside the baseline's scope", ns)
		}
	}
	if s.Duration.Duration > rule.MaxDuration.Duration {
		return fmt.Errorf("spec.duration: %s is longer than its maxDuration %s", s.Duration.Duration, rule.MaxDuration.Duration)
	}
	sub := SubjectOf(s, r.Requester)
	self := s.Subject == nil || drift.SameSubject(sub, SubjectOf(&v1alpha1.AccessGrantSpec{}, r.Requester))
	for _, allowed := range rule.Subjects {
		a := allowed.RBAC()
		if drift.SameSubject(a, sub) {
			return nil
		}
		// A listed group admits its members asking for themselves.
		if self && a.Kind == rbacv1.GroupKind && slices.Contains(r.Groups, a.Name) {
			return nil
		}
	}
	return fmt.Errorf("spec.subject: %s is not among its subjects (%s)%s", guardrails.DescribeSubject(sub), subjectList(rule.Subjects),
		map[bool]string{true: ", nor is the requester in their groups", false: ""}[self])
}

func roleList(rs []v1alpha1.RoleRef) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r.Kind) + " " + r.Name
	}
	return strings.Join(parts, ", ")
}

func subjectList(ss []v1alpha1.Subject) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = guardrails.DescribeSubject(s.RBAC())
	}
	return strings.Join(parts, ", ")
}
