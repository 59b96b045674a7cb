package drift

import (
	"math/rand"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func TestScopeCovers(t *testing.T) {
	spec := &v1alpha1.RoleBaselineSpec{
		Scope: v1alpha1.Scope{
			Namespaces:        ss("listed"),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			ClusterScoped:     true,
			ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"owner": "team"}},
			Exclude:           v1alpha1.Exclusions{Names: ss("skip"), NamePrefixes: ss("tmp-"), Namespaces: ss("prod-excluded")},
		},
		Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "declared"}},
	}
	sc, err := CompileScope(spec)
	if err != nil {
		t.Fatal(err)
	}
	team := map[string]string{"owner": "team"}
	prod := map[string]string{"env": "prod"}
	tests := map[string]struct {
		kind, ns, name string
		labels, nsLbl  map[string]string
		want           bool
	}{
		"listed namespace":                {KindRole, "listed", "r", team, nil, true},
		"selected namespace":              {KindRoleBinding, "p", "r", team, prod, true},
		"unselected namespace":            {KindRole, "dev", "r", team, map[string]string{"env": "dev"}, false},
		"excluded namespace":              {KindRole, "prod-excluded", "r", team, prod, false},
		"object selector mismatch":        {KindRole, "listed", "r", nil, nil, false},
		"declared ignores objectSelector": {KindRole, "listed", "declared", nil, nil, true},
		"declared name, other kind":       {KindRoleBinding, "listed", "declared", nil, nil, false},
		"cluster role":                    {KindClusterRole, "", "c", team, nil, true},
		"excluded name":                   {KindClusterRole, "", "skip", team, nil, false},
		"excluded prefix":                 {KindClusterRoleBinding, "", "tmp-1", team, nil, false},
		"system prefix":                   {KindClusterRole, "", "system:node", team, nil, false},
		"bootstrap cluster role":          {KindClusterRole, "", "edit", team, nil, false},
		"bootstrap-named RoleBinding":     {KindRoleBinding, "listed", "edit", team, nil, true},
		"ignore label":                    {KindRole, "listed", "r", map[string]string{"owner": "team", v1alpha1.IgnoreLabel: "true"}, nil, false},
		"ignore label not true":           {KindRole, "listed", "r", map[string]string{"owner": "team", v1alpha1.IgnoreLabel: "false"}, nil, true},
		"other kind":                      {"ServiceAccount", "listed", "r", team, nil, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := sc.Covers(tc.kind, tc.ns, tc.name, tc.labels, tc.nsLbl); got != tc.want {
				t.Errorf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
	nsTests := map[string]struct {
		ns   corev1.Namespace
		want bool
	}{
		"listed":            {namespace("listed"), true},
		"selected":          {namespace("x", "env", "prod"), true},
		"excluded selected": {namespace("prod-excluded", "env", "prod"), false},
		"neither":           {namespace("x"), false},
	}
	for name, tc := range nsTests {
		if got := sc.CoversNamespace(&tc.ns); got != tc.want {
			t.Errorf("CoversNamespace(%s) = %v, want %v", name, got, tc.want)
		}
	}
	if !sc.ClusterScoped() {
		t.Error("ClusterScoped() = false")
	}
}

// TestCompactRulesExact: compacting the uncovered pieces covers exactly them, no more.
func TestCompactRulesExact(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 2000; i++ {
		g := &gen{data: randomBytes(rng, 128)}
		var atoms []rbacv1.PolicyRule
		for _, r := range g.rules(true) {
			atoms = append(atoms, validation.BreakdownRule(r)...)
		}
		c := compactRules(atoms)
		if ok, _ := validation.Covers(c, atoms); !ok && len(atoms) > 0 {
			t.Fatalf("compacted %v does not cover %v", c, atoms)
		}
		if ok, _ := validation.Covers(atoms, c); !ok {
			t.Fatalf("compacted %v covers more than %v", c, atoms)
		}
		if len(c) > len(atoms) {
			t.Fatalf("compaction grew %d -> %d", len(atoms), len(c))
		}
	}
}

func TestCompileScopeValidatesDeclarations(t *testing.T) {
	agg := func(op metav1.LabelSelectorOperator) *v1alpha1.AggregationRule {
		return &v1alpha1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: op, Values: []string{"x"}}}}}}
	}
	tests := map[string]struct {
		spec v1alpha1.RoleBaselineSpec
		want string // "" when valid
	}{
		"valid aggregation": {spec: v1alpha1.RoleBaselineSpec{Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "agg", AggregationRule: agg(metav1.LabelSelectorOpIn)}}}},
		"bogus operator": {spec: v1alpha1.RoleBaselineSpec{Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "agg", AggregationRule: agg("Bogus")}}},
			want: "spec.roles[0].aggregationRule.clusterRoleSelectors[0]"},
		"role name with a slash": {spec: v1alpha1.RoleBaselineSpec{Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "a/b"}}},
			want: `spec.roles[0].name: "a/b" is not a valid object name`},
		"system: names are valid": {spec: v1alpha1.RoleBaselineSpec{Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "system:x"}}}},
		"empty roleRef": {spec: v1alpha1.RoleBaselineSpec{Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "b"}}},
			want: "spec.bindings[0].roleRef.name"},
		"binding name ..": {spec: v1alpha1.RoleBaselineSpec{Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "..",
			RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "r"}}}}, want: "spec.bindings[0].name"},
		"one name for disjoint namespaces, and a default": {spec: v1alpha1.RoleBaselineSpec{Roles: []v1alpha1.DesiredRole{
			{Kind: v1alpha1.KindRole, Name: "r", Namespaces: ss("a", "b")}, {Kind: v1alpha1.KindRole, Name: "r", Namespaces: ss("c")},
			{Kind: v1alpha1.KindRole, Name: "r"}, {Kind: v1alpha1.KindClusterRole, Name: "r"}}}},
		"one name twice for a namespace": {spec: v1alpha1.RoleBaselineSpec{Roles: []v1alpha1.DesiredRole{
			{Kind: v1alpha1.KindRole, Name: "r", Namespaces: ss("a", "b")}, {Kind: v1alpha1.KindRole, Name: "r", Namespaces: ss("b")}}},
			want: "spec.roles[1]: Role r is declared twice in namespace b (also spec.roles[0])"},
		"one name twice without namespaces": {spec: v1alpha1.RoleBaselineSpec{Bindings: []v1alpha1.DesiredBinding{
			{Kind: v1alpha1.KindRoleBinding, Name: "b", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "r"}},
			{Kind: v1alpha1.KindRoleBinding, Name: "b", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "r"}}}},
			want: "spec.bindings[1]: RoleBinding b is declared twice for every namespace the others do not list (also spec.bindings[0])"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := CompileScope(&tc.spec)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
