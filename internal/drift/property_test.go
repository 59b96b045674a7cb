package drift

import (
	"math/rand"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// deriveBaselines declares every role and binding of a snapshot: one baseline per
// namespace and one for cluster-scoped objects. Rules are declared reordered and, for
// every other role, split into single-verb pieces, and subjects reversed, so the
// property also exercises "order and splitting are not drift".
func deriveBaselines(s *Snapshot) []v1alpha1.RoleBaselineSpec {
	byNS := map[string]*v1alpha1.RoleBaselineSpec{}
	get := func(ns string) *v1alpha1.RoleBaselineSpec {
		if byNS[ns] == nil {
			spec := &v1alpha1.RoleBaselineSpec{Unmanaged: v1alpha1.UnmanagedReport,
				Scope: v1alpha1.Scope{Exclude: v1alpha1.Exclusions{IncludeSystem: true}}}
			if ns == "" {
				spec.Scope.ClusterScoped = true
			} else {
				spec.Scope.Namespaces = []string{ns}
			}
			byNS[ns] = spec
		}
		return byNS[ns]
	}
	declareRules := func(rules []rbacv1.PolicyRule, split bool) []v1alpha1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, r := range slices.Backward(rules) {
			if split {
				out = append(out, validation.BreakdownRule(r)...)
			} else {
				out = append(out, r)
			}
		}
		return ToAPIRules(out...)
	}
	declareSubjects := func(subjects []rbacv1.Subject, ns string) []v1alpha1.Subject {
		var out []v1alpha1.Subject
		for _, sub := range slices.Backward(subjects) {
			out = append(out, apiSubject(normalizeSubject(sub, ns)))
		}
		return out
	}
	for i, r := range s.Roles {
		spec := get(r.Namespace)
		spec.Roles = append(spec.Roles, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: r.Name, Rules: declareRules(r.Rules, i%2 == 0)})
	}
	for i, r := range s.ClusterRoles {
		d := v1alpha1.DesiredRole{Kind: v1alpha1.KindClusterRole, Name: r.Name}
		if r.AggregationRule != nil && len(r.AggregationRule.ClusterRoleSelectors) > 0 {
			d.AggregationRule = &v1alpha1.AggregationRule{ClusterRoleSelectors: slices.Clone(r.AggregationRule.ClusterRoleSelectors)}
		} else {
			d.Rules = declareRules(r.Rules, i%2 == 0)
		}
		spec := get("")
		spec.Roles = append(spec.Roles, d)
	}
	for _, b := range s.RoleBindings {
		spec := get(b.Namespace)
		spec.Bindings = append(spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindRoleBinding, Name: b.Name,
			RoleRef:  v1alpha1.RoleRef{Kind: v1alpha1.RoleKind(b.RoleRef.Kind), Name: b.RoleRef.Name},
			Subjects: declareSubjects(b.Subjects, b.Namespace)})
	}
	for _, b := range s.ClusterRoleBindings {
		spec := get("")
		spec.Bindings = append(spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindClusterRoleBinding, Name: b.Name,
			RoleRef:  v1alpha1.RoleRef{Kind: v1alpha1.RoleKind(b.RoleRef.Kind), Name: b.RoleRef.Name},
			Subjects: declareSubjects(b.Subjects, "")})
	}
	var out []v1alpha1.RoleBaselineSpec
	for _, ns := range slices.Sorted(func(yield func(string) bool) {
		for k := range byNS {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, *byNS[ns])
	}
	return out
}

// TestDerivedBaselineHasNoDrift: a baseline that declares exactly what is live
// reports no drift on it (guardrails and ceilings may still fire).
func TestDerivedBaselineHasNoDrift(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 500; round++ {
		g := &gen{data: randomBytes(rng, 2048)}
		snap := g.world(40).snapshot()
		// Namespaces must exist for namespaced declarations to be expected; add the
		// ones the generator did not draw so Missing has every chance to show.
		have := map[string]bool{}
		for _, ns := range snap.Namespaces {
			have[ns.Name] = true
		}
		for _, ns := range genNamespaces {
			if !have[ns] {
				snap.Namespaces = append(snap.Namespaces, namespace(ns))
			}
		}
		for _, spec := range deriveBaselines(snap) {
			got, err := Evaluate(&spec, snap, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range got {
				if f.Type.IsDrift() {
					t.Fatalf("round %d: derived baseline reports drift: %s\n%s", round, describe(f), f.Message())
				}
			}
		}
	}
}
