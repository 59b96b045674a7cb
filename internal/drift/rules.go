package drift

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// diffRules returns the live rules the desired ones do not cover (added) and the
// desired rules the live ones do not cover (removed), each as the exact uncovered
// pieces compacted back into few rules. Order, duplicates and split-vs-merged rules
// cover the same requests and so are not drift.
func diffRules(desired, live []rbacv1.PolicyRule) (added, removed []rbacv1.PolicyRule) {
	if rulesEqual(desired, live) {
		return nil, nil
	}
	if ok, up := validation.Covers(desired, live); !ok {
		added = compactRules(up)
	}
	if ok, down := validation.Covers(live, desired); !ok {
		removed = compactRules(down)
	}
	return added, removed
}

// uncovered returns the pieces of servant the owner rules do not cover, compacted.
func uncovered(owner, servant []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	if ok, up := validation.Covers(owner, servant); !ok {
		return compactRules(up)
	}
	return nil
}

func rulesEqual(a, b []rbacv1.PolicyRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if !slices.Equal(x.Verbs, y.Verbs) || !slices.Equal(x.APIGroups, y.APIGroups) ||
			!slices.Equal(x.Resources, y.Resources) || !slices.Equal(x.ResourceNames, y.ResourceNames) ||
			!slices.Equal(x.NonResourceURLs, y.NonResourceURLs) {
			return false
		}
	}
	return true
}

// toRBACRules converts API rules to rbacv1 rules, sharing the string slices (read-only).
func toRBACRules(in []v1alpha1.PolicyRule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(in))
	for i, r := range in {
		out[i] = rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources,
			ResourceNames: r.ResourceNames, NonResourceURLs: r.NonResourceURLs}
	}
	return out
}

// ToAPIRules converts rbacv1 rules to the API's rules, copying the slices.
func ToAPIRules(rules ...rbacv1.PolicyRule) []v1alpha1.PolicyRule {
	out := make([]v1alpha1.PolicyRule, len(rules))
	for i, r := range rules {
		out[i] = toAPIRule(r)
	}
	return out
}

// toAPIRule converts an rbacv1 rule to the API's rule, copying the slices.
func toAPIRule(r rbacv1.PolicyRule) v1alpha1.PolicyRule {
	return v1alpha1.PolicyRule{Verbs: slices.Clone(r.Verbs), APIGroups: slices.Clone(r.APIGroups),
		Resources: slices.Clone(r.Resources), ResourceNames: slices.Clone(r.ResourceNames),
		NonResourceURLs: slices.Clone(r.NonResourceURLs)}
}

// compactRules merges atomic rules (one verb, group, resource and name each, as
// validation.BreakdownRule makes them) into few rules covering exactly the same
// requests. Each step merges entries equal on every other field, so the cartesian
// product of the result is the input set. The output is sorted and deterministic.
func compactRules(atoms []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type resKey struct{ group, resource, name string }
	verbs := map[resKey]map[string]bool{}
	urlVerbs := map[string]map[string]bool{}
	for _, a := range atoms {
		for _, sub := range validation.BreakdownRule(a) {
			if len(sub.NonResourceURLs) > 0 {
				addToSet(urlVerbs, sub.NonResourceURLs[0], sub.Verbs[0])
				continue
			}
			k := resKey{sub.APIGroups[0], sub.Resources[0], ""}
			if len(sub.ResourceNames) > 0 {
				k.name = sub.ResourceNames[0]
			}
			if verbs[k] == nil {
				verbs[k] = map[string]bool{}
			}
			verbs[k][sub.Verbs[0]] = true
		}
	}
	// (group, name, verbs) -> resources
	type step2 struct{ group, name, verbs string }
	res := map[step2]map[string]bool{}
	for k, vs := range verbs {
		addToSet(res, step2{k.group, k.name, joinSet(vs)}, k.resource)
	}
	// (group, verbs, resources) -> names; unnamed entries stay on their own.
	type step3 struct{ group, verbs, resources string }
	names := map[step3]map[string]bool{}
	for k, rs := range res {
		addToSet(names, step3{k.group, k.verbs, joinSet(rs)}, k.name)
	}
	// (verbs, resources, names) -> groups
	type step4 struct{ verbs, resources, names string }
	groups := map[step4]map[string]bool{}
	for k, ns := range names {
		named := map[string]bool{}
		for n := range ns {
			if n == "" {
				addToSet(groups, step4{k.verbs, k.resources, "\x00"}, k.group)
			} else {
				named[n] = true
			}
		}
		if len(named) > 0 {
			addToSet(groups, step4{k.verbs, k.resources, joinSet(named)}, k.group)
		}
	}
	out := make([]rbacv1.PolicyRule, 0, len(groups)+len(urlVerbs))
	for k, gs := range groups {
		r := rbacv1.PolicyRule{Verbs: splitSet(k.verbs), APIGroups: sortedKeys(gs), Resources: splitSet(k.resources)}
		if k.names != "\x00" {
			r.ResourceNames = splitSet(k.names)
		}
		out = append(out, r)
	}
	urls := map[string]map[string]bool{}
	for u, vs := range urlVerbs {
		addToSet(urls, joinSet(vs), u)
	}
	for vs, us := range urls {
		out = append(out, rbacv1.PolicyRule{Verbs: splitSet(vs), NonResourceURLs: sortedKeys(us)})
	}
	slices.SortFunc(out, compareRules)
	return out
}

// joinSet renders a set as a sorted key; "\x1f" never appears in RBAC names.
func joinSet(s map[string]bool) string { return strings.Join(sortedKeys(s), "\x1f") }

func splitSet(s string) []string { return strings.Split(s, "\x1f") }

func sortedKeys(s map[string]bool) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func compareRules(a, b rbacv1.PolicyRule) int {
	for _, p := range [][2][]string{{a.NonResourceURLs, b.NonResourceURLs}, {a.APIGroups, b.APIGroups},
		{a.Resources, b.Resources}, {a.ResourceNames, b.ResourceNames}, {a.Verbs, b.Verbs}} {
		if c := slices.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return 0
}

// describeRules renders rules compactly for messages: "get,list pods (apps)".
func describeRules(rules []rbacv1.PolicyRule) string {
	var b strings.Builder
	for i, r := range rules {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(describeRule(r))
	}
	return b.String()
}

func describeRule(r rbacv1.PolicyRule) string {
	var b strings.Builder
	b.WriteString(strings.Join(r.Verbs, ","))
	b.WriteByte(' ')
	if len(r.NonResourceURLs) > 0 {
		b.WriteString(strings.Join(r.NonResourceURLs, ","))
		return b.String()
	}
	b.WriteString(strings.Join(r.Resources, ","))
	groups := make([]string, len(r.APIGroups))
	for i, g := range r.APIGroups {
		if g == "" {
			g = "core"
		}
		groups[i] = g
	}
	b.WriteString(" [" + strings.Join(groups, ",") + "]")
	if len(r.ResourceNames) > 0 {
		b.WriteString(" names=" + strings.Join(r.ResourceNames, ","))
	}
	return b.String()
}

// selectorKeys renders aggregation selectors in a canonical form, so equal selectors
// compare equal whatever their order.
func selectorKeys(sels []metav1.LabelSelector) []string {
	out := make([]string, 0, len(sels))
	for i := range sels {
		s, err := metav1.LabelSelectorAsSelector(&sels[i])
		if err != nil {
			out = append(out, "invalid:"+sels[i].String())
			continue
		}
		out = append(out, s.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// diffAggregation compares aggregation selector sets: extra are live-only selectors,
// missing are declared-only ones.
func diffAggregation(desired, live *rbacv1.AggregationRule) (extra, missing []string) {
	var d, l []string
	if desired != nil {
		d = selectorKeys(desired.ClusterRoleSelectors)
	}
	if live != nil {
		l = selectorKeys(live.ClusterRoleSelectors)
	}
	for _, x := range l {
		if _, ok := slices.BinarySearch(d, x); !ok {
			extra = append(extra, x)
		}
	}
	for _, x := range d {
		if _, ok := slices.BinarySearch(l, x); !ok {
			missing = append(missing, x)
		}
	}
	return extra, missing
}

// CompactRules merges rules into as few as grant the same (pieces sharing all but
// one field join), in a stable order: how the engine prints rule sets.
func CompactRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule { return compactRules(rules) }
