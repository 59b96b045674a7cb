package drift

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// effectiveRules returns a role's rules as the RBAC authorizer applies them, and the
// pieces that grant nothing. Kubernetes' rule matching (pkg/apis/rbac/v1
// evaluation_helpers.go: VerbMatches, APIGroupMatches, ResourceMatches) knows no
// prefix wildcard: a verb or group matches * or itself, a resource matches *, itself,
// or */subresource, so pods/* or get* match no request. And a Role's rules apply to
// requests in its namespace only, so a Role naming a cluster-scoped resource (nodes,
// webhook configurations...) grants nothing for it; its own Namespace object is the
// exception (guardrails.OwnNamespace).
//
// ns is a Role's namespace, "" when not known (a declaration): a Role's grant on its
// own Namespace narrowed by resourceNames is only known effective once ns is.
//
// When every rule is effective, rules itself is returned, uncopied.
func effectiveRules(kind, ns string, rules []rbacv1.PolicyRule) (effective, ineffective []rbacv1.PolicyRule) {
	namespaced := kind == KindRole
	if !anyIneffective(rules, namespaced) {
		return rules, nil
	}
	effective = make([]rbacv1.PolicyRule, 0, len(rules))
	for i := range rules {
		r := &rules[i]
		parts := []*rbacv1.PolicyRule{r}
		if namespaced && mixedScope(r) {
			// Scope is per group and resource: judge each group on its own.
			parts = parts[:0]
			for _, g := range r.APIGroups {
				p := r.DeepCopy()
				p.APIGroups = []string{g}
				parts = append(parts, p)
			}
		}
		if namespaced {
			parts = splitOwnNamespace(parts)
		}
		for _, p := range parts {
			keep, drop := splitRule(p, namespaced, ns)
			if keep != nil {
				effective = append(effective, *keep)
			}
			if drop != nil {
				ineffective = append(ineffective, *drop)
			}
		}
	}
	return effective, ineffective
}

// mixedScope: some but not every named group holds one of the rule's resources as
// cluster-scoped.
func mixedScope(r *rbacv1.PolicyRule) bool {
	if len(r.APIGroups) < 2 {
		return false
	}
	for _, res := range r.Resources {
		some := false
		for _, g := range r.APIGroups {
			if g != rbacv1.APIGroupAll && guardrails.ClusterScoped(g, res) {
				some = true
			}
		}
		if some && !clusterScopedIn(r.APIGroups, res) {
			return true
		}
	}
	return false
}

// anyIneffective is the fast path: true when some rule needs splitting. It runs for
// every role loaded, so it only scans for '*' and looks up the groups that hold
// cluster-scoped resources.
func anyIneffective(rules []rbacv1.PolicyRule, namespaced bool) bool {
	for i := range rules {
		r := &rules[i]
		if len(r.Resources) == 0 && len(r.NonResourceURLs) == 0 {
			continue
		}
		if namespaced && len(r.NonResourceURLs) > 0 {
			return true
		}
		for _, v := range r.Verbs {
			if !matchable(v) {
				return true
			}
		}
		for _, g := range r.APIGroups {
			if !matchable(g) {
				return true
			}
		}
		for _, res := range r.Resources {
			if !resourceMatchable(res) {
				return true
			}
		}
		if namespaced && anyClusterScoped(r) {
			return true
		}
	}
	return false
}

// anyClusterScoped: some group and resource of the rule name a cluster-scoped resource.
func anyClusterScoped(r *rbacv1.PolicyRule) bool {
	for _, g := range r.APIGroups {
		if g == rbacv1.APIGroupAll || !guardrails.HasClusterScoped(g) {
			continue
		}
		for _, res := range r.Resources {
			if guardrails.ClusterScoped(g, res) {
				return true
			}
		}
	}
	return false
}

// splitOwnNamespace puts a Role rule's grants of cluster-scoped resources whose
// requests may still carry its namespace (its own Namespace object, bind on
// ClusterRoles: guardrails.NamespacedVerb) in a rule of their own, so splitRule can
// judge their verbs.
func splitOwnNamespace(parts []*rbacv1.PolicyRule) []*rbacv1.PolicyRule {
	out := parts[:0:0]
	for _, p := range parts {
		own, rest := partition(p.Resources, func(res string) bool { return ownNamespaceIn(p.APIGroups, res) })
		if len(own) == 0 || len(rest) == 0 {
			out = append(out, p)
			continue
		}
		a, b := p.DeepCopy(), p.DeepCopy()
		a.Resources, b.Resources = own, rest
		out = append(out, a, b)
	}
	return out
}

// namesOwnNamespace: some rule narrows a grant of Namespaces by resourceNames.
func namesOwnNamespace(rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		if len(rules[i].ResourceNames) == 0 {
			continue
		}
		for _, res := range rules[i].Resources {
			for _, g := range rules[i].APIGroups {
				if guardrails.OwnNamespace(g, res) {
					return true
				}
			}
		}
	}
	return false
}

// ownNamespaceIn: res is partly namespaced (guardrails.PartlyNamespaced) in every group named.
func ownNamespaceIn(groups []string, res string) bool {
	for _, g := range groups {
		if !guardrails.PartlyNamespaced(g, res) {
			return false
		}
	}
	return len(groups) > 0
}

// splitRule splits one rule into what it grants and what it names in vain (either
// nil). The vain piece is the rule narrowed to its vain verbs, groups or resources.
func splitRule(r *rbacv1.PolicyRule, namespaced bool, ns string) (keep, drop *rbacv1.PolicyRule) {
	// A Role grants its own Namespace object to requests that name it (splitOwnNamespace
	// has put those resources in a rule of their own); resourceNames can only narrow
	// that to its own name, or to nothing.
	ownNS := namespaced && len(r.Resources) > 0 && ownNamespaceIn(r.APIGroups, r.Resources[0])
	if ownNS && guardrails.OwnNamespace(r.APIGroups[0], r.Resources[0]) && len(r.ResourceNames) > 0 && ns != "" {
		if !slices.Contains(r.ResourceNames, ns) {
			return nil, r.DeepCopy()
		}
		r = r.DeepCopy()
		r.ResourceNames = nil
	}
	goodV, badV := partition(r.Verbs, func(v string) bool {
		return matchable(v) && (!ownNS || guardrails.NamespacedVerb(r.APIGroups[0], r.Resources[0], v))
	})
	goodG, badG := partition(r.APIGroups, matchable)
	goodR, badR := partition(r.Resources, func(res string) bool {
		return resourceMatchable(res) && (!namespaced || ownNS || !clusterScopedIn(r.APIGroups, res))
	})
	vainURLs := namespaced && len(r.NonResourceURLs) > 0 // a Role cannot grant them
	if len(badV)+len(badG)+len(badR) == 0 && !vainURLs {
		return r.DeepCopy(), nil
	}
	d := r.DeepCopy()
	if len(badV) > 0 {
		d.Verbs = badV
	}
	if len(badG) > 0 {
		d.APIGroups = badG
	}
	if len(badR) > 0 {
		d.Resources = badR
	}
	if !vainURLs {
		d.NonResourceURLs = nil
	} else if len(badV)+len(badG)+len(badR) == 0 {
		d.APIGroups, d.Resources, d.ResourceNames = nil, nil, nil
	}
	k := r.DeepCopy()
	k.Verbs, k.APIGroups, k.Resources = goodV, goodG, goodR
	if len(r.Resources) > 0 && (len(goodV) == 0 || len(goodG) == 0 || len(goodR) == 0) {
		k.APIGroups, k.Resources, k.ResourceNames = nil, nil, nil
	}
	if vainURLs {
		k.NonResourceURLs = nil
	}
	if len(k.Verbs) == 0 || len(k.Resources) == 0 && len(k.NonResourceURLs) == 0 {
		k = nil
	}
	return k, d
}

// matchable: a verb or API group that can match a request: * or a name without *.
func matchable(s string) bool { return s == "*" || strings.IndexByte(s, '*') < 0 }

// resourceMatchable: *, a resource or resource/subresource without *, or */subresource.
func resourceMatchable(res string) bool {
	if res == rbacv1.ResourceAll {
		return true
	}
	if strings.IndexByte(res, '*') < 0 {
		return true
	}
	if sub, ok := strings.CutPrefix(res, "*/"); ok {
		return sub != "" && strings.IndexByte(sub, '*') < 0
	}
	return false
}

// clusterScopedIn: res is cluster-scoped in every group the rule names (a * group
// could name a custom resource of that name: kept).
func clusterScopedIn(groups []string, res string) bool {
	if len(groups) == 0 {
		return false
	}
	for _, g := range groups {
		if g == rbacv1.APIGroupAll || !guardrails.ClusterScoped(g, res) {
			return false
		}
	}
	return true
}

func partition(in []string, ok func(string) bool) (yes, no []string) {
	for _, s := range in {
		if ok(s) {
			yes = append(yes, s)
		} else {
			no = append(no, s)
		}
	}
	return yes, no
}
