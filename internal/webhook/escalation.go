package webhook

import (
	"context"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// DefaultMaxReviews caps the SubjectAccessReviews one baseline admission may send.
const DefaultMaxReviews = 500

// access is one permission to check: resource attributes, or a non-resource URL.
type access struct {
	res    *authorizationv1.ResourceAttributes
	nonRes *authorizationv1.NonResourceAttributes
}

func (a access) String() string {
	if a.nonRes != nil {
		return a.nonRes.Verb + " " + a.nonRes.Path
	}
	r := a.res
	s := r.Verb + " " + r.Resource
	if r.Subresource != "" {
		s += "/" + r.Subresource
	}
	if r.Group != "" {
		s += "." + r.Group
	}
	if r.Name != "" {
		s += " named " + r.Name
	}
	if r.Namespace != "" {
		s += " in namespace " + r.Namespace
	} else {
		s += " cluster-wide"
	}
	return s
}

// expandRule lists the permissions a rule grants in a namespace ("" for cluster-wide),
// one per verb, group, resource and name. A wildcard stays a wildcard: a
// SubjectAccessReview for verb or resource "*" is allowed only to holders of a
// wildcard rule, which is exactly who may grant one.
func expandRule(r rbacv1.PolicyRule, namespace string) []access {
	var out []access
	for _, verb := range r.Verbs {
		for _, url := range r.NonResourceURLs {
			out = append(out, access{nonRes: &authorizationv1.NonResourceAttributes{Verb: verb, Path: url}})
		}
		for _, group := range r.APIGroups {
			for _, resource := range r.Resources {
				res, sub, _ := strings.Cut(resource, "/")
				names := r.ResourceNames
				if len(names) == 0 {
					names = []string{""}
				}
				for _, name := range names {
					out = append(out, access{res: &authorizationv1.ResourceAttributes{Namespace: namespace,
						Verb: verb, Group: group, Resource: res, Subresource: sub, Name: name}})
				}
			}
		}
	}
	return out
}

// reviewer asks the API server what a requester may do, within a budget of reviews.
type reviewer struct {
	client client.Client
	user   authenticationv1.UserInfo
	left   int
	max    int
}

// errBudget is returned once the review budget is spent.
type errBudget struct{ max int }

func (e errBudget) Error() string {
	return fmt.Sprintf("checking what the baseline grants needs more than %d access reviews; "+
		"have it created by someone allowed to escalate and bind roles and cluster roles, or split it", e.max)
}

func (rv *reviewer) allowed(ctx context.Context, a access) (bool, error) {
	if rv.left <= 0 {
		return false, errBudget{rv.max}
	}
	rv.left--
	extra := make(map[string]authorizationv1.ExtraValue, len(rv.user.Extra))
	for k, v := range rv.user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		ResourceAttributes: a.res, NonResourceAttributes: a.nonRes,
		User: rv.user.Username, Groups: rv.user.Groups, UID: rv.user.UID, Extra: extra}}
	if err := rv.client.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("reviewing access (%s): %w", a, err)
	}
	return sar.Status.Allowed, nil
}

// firstDenied returns the first permission the requester lacks, or nil.
func (rv *reviewer) firstDenied(ctx context.Context, as []access) (*access, error) {
	for i := range as {
		ok, err := rv.allowed(ctx, as[i])
		if err != nil {
			return nil, err
		}
		if !ok {
			return &as[i], nil
		}
	}
	return nil, nil
}

func rbacAccess(verb, resource, namespace, name string) access {
	return access{res: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb,
		Group: rbacv1.GroupName, Resource: resource, Name: name}}
}

// holdsRules reports the first rule permission the requester lacks in a namespace
// ("" for cluster-wide), or nil when they hold every rule.
func (rv *reviewer) holdsRules(ctx context.Context, rules []rbacv1.PolicyRule, namespace string) (*access, error) {
	for _, r := range rules {
		if namespace != "" && len(r.NonResourceURLs) > 0 {
			continue // a namespaced grant never covers non-resource URLs
		}
		if denied, err := rv.firstDenied(ctx, expandRule(r, namespace)); denied != nil || err != nil {
			return denied, err
		}
	}
	return nil, nil
}

// canCreateRole: the requester may escalate roles there, or holds each rule. An
// aggregated ClusterRole's rules are not known in advance, so it needs escalate.
func (rv *reviewer) canCreateRole(ctx context.Context, d *v1alpha1.DesiredRole, namespace string) (string, error) {
	resource := "roles"
	if d.Kind == v1alpha1.KindClusterRole {
		resource = "clusterroles"
	}
	ok, err := rv.allowed(ctx, rbacAccess("escalate", resource, namespace, d.Name))
	if ok || err != nil {
		return "", err
	}
	where := placeText(string(d.Kind), namespace, d.Name)
	if d.AggregationRule != nil {
		return fmt.Sprintf("%s is aggregated, and only someone allowed to escalate %s may declare it", where, resource), nil
	}
	denied, err := rv.holdsRules(ctx, v1alpha1.RBACRules(d.Rules), namespace)
	if denied == nil || err != nil {
		return "", err
	}
	return fmt.Sprintf("%s grants %s, which you do not hold (and you may not escalate %s)", where, denied, resource), nil
}

// canCreateBinding: the requester may bind the referenced role, or holds its rules.
// rulesOf returns the role's rules when known (declared or live).
func (rv *reviewer) canCreateBinding(ctx context.Context, d *v1alpha1.DesiredBinding, namespace string,
	rulesOf func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool)) (string, error) {
	resource, roleNS := "clusterroles", ""
	if d.RoleRef.Kind == v1alpha1.KindRole {
		resource, roleNS = "roles", namespace
	}
	ok, err := rv.allowed(ctx, rbacAccess("bind", resource, roleNS, d.RoleRef.Name))
	if ok || err != nil {
		return "", err
	}
	where := placeText(string(d.Kind), namespace, d.Name)
	rules, known := rulesOf(string(d.RoleRef.Kind), roleNS, d.RoleRef.Name)
	if !known {
		return fmt.Sprintf("%s binds %s %s, which does not exist yet, and you may not bind it", where, d.RoleRef.Kind, d.RoleRef.Name), nil
	}
	denied, err := rv.holdsRules(ctx, rules, namespace)
	if denied == nil || err != nil {
		return "", err
	}
	return fmt.Sprintf("%s binds %s %s, which grants %s; you do not hold that and may not bind the role",
		where, d.RoleRef.Kind, d.RoleRef.Name, denied), nil
}

func placeText(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}
