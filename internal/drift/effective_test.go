package drift

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Each case cites the upstream rule: k8s.io/kubernetes pkg/apis/rbac/v1
// evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches), and for
// Roles, that a RoleBinding's rules apply to requests in its namespace only.
func TestEffectiveRules(t *testing.T) {
	tests := map[string]struct {
		kind        string
		rules       []rbacv1.PolicyRule
		effective   string // describeRules of the effective rules
		ineffective string
	}{
		"plain rules are untouched": {kind: KindRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("pods", "pods/log"), ss("get"))},
			effective: "get pods,pods/log [core]"},
		"ResourceMatches: * and */subresource match": {kind: KindClusterRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("*", "*/scale"), ss("get"))},
			effective: "get *,*/scale [core]"},
		"ResourceMatches: no prefix wildcard, pods/* grants nothing": {kind: KindClusterRole,
			rules:     []rbacv1.PolicyRule{pr(ss(""), ss("pods", "pods/*"), ss("get"))},
			effective: "get pods [core]", ineffective: "get pods/* [core]"},
		"ResourceMatches: */* grants nothing": {kind: KindClusterRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("*/*"), ss("get"))},
			ineffective: "get */* [core]"},
		"VerbMatches: get* grants nothing": {kind: KindClusterRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("pods"), ss("get*", "list"))},
			effective: "list pods [core]", ineffective: "get* pods [core]"},
		"APIGroupMatches: apps* grants nothing": {kind: KindClusterRole, rules: []rbacv1.PolicyRule{pr(ss("apps*"), ss("deployments"), ss("get"))},
			ineffective: "get deployments [apps*]"},
		"a Role cannot grant nodes": {kind: KindRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("nodes", "pods"), ss("get"))},
			effective: "get pods [core]", ineffective: "get nodes [core]"},
		// apiserver RequestInfo: /api/v1/namespaces/X carries namespace X, so a RoleBinding
		// in X grants the requests that name X; list, watch and create name no namespace.
		"a Role grants its own Namespace to named requests": {kind: KindRole,
			rules:     []rbacv1.PolicyRule{pr(ss(""), ss("namespaces", "pods"), ss("get", "list", "patch"))},
			effective: "get,patch namespaces [core]; get,list,patch pods [core]", ineffective: "list namespaces [core]"},
		"a Role's Namespace grant by name reaches its own name only": {kind: KindRole,
			rules:     []rbacv1.PolicyRule{pr(ss(""), ss("namespaces"), ss("get")), {APIGroups: ss(""), Resources: ss("namespaces"), Verbs: ss("delete"), ResourceNames: ss("team-a", "b")}},
			effective: "get namespaces [core]; delete namespaces [core]"},
		"a Role's Namespace grant naming other namespaces grants nothing": {kind: KindRole,
			rules:       []rbacv1.PolicyRule{{APIGroups: ss(""), Resources: ss("namespaces"), Verbs: ss("delete"), ResourceNames: ss("b")}},
			ineffective: "delete namespaces [core] names=b"},
		"a Role's namespaces/status too": {kind: KindRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("namespaces/status"), ss("update", "watch"))},
			effective: "update namespaces/status [core]", ineffective: "watch namespaces/status [core]"},
		"a ClusterRole can": {kind: KindClusterRole, rules: []rbacv1.PolicyRule{pr(ss(""), ss("nodes", "pods"), ss("get"))},
			effective: "get nodes,pods [core]"},
		"a Role cannot grant webhook configurations": {kind: KindRole,
			rules:       []rbacv1.PolicyRule{pr(ss("admissionregistration.k8s.io"), ss("validatingwebhookconfigurations"), ss("patch"))},
			ineffective: "patch validatingwebhookconfigurations [admissionregistration.k8s.io]"},
		"scope is per group: apps/signers is kept, certificates.k8s.io/signers is not": {kind: KindRole,
			rules:       []rbacv1.PolicyRule{pr(ss("certificates.k8s.io", "apps"), ss("signers"), ss("create"))},
			effective:   "create signers [apps]",
			ineffective: "create signers [certificates.k8s.io]"},
		"a * group may name a custom resource called nodes: kept": {kind: KindRole, rules: []rbacv1.PolicyRule{pr(ss("*"), ss("nodes"), ss("get"))},
			effective: "get nodes [*]"},
		"a Role cannot grant non-resource URLs": {kind: KindRole, rules: []rbacv1.PolicyRule{{NonResourceURLs: ss("/metrics"), Verbs: ss("get")}},
			ineffective: "get /metrics"},
		"a ClusterRole's non-resource URL prefix is kept": {kind: KindClusterRole, rules: []rbacv1.PolicyRule{{NonResourceURLs: ss("/healthz/*"), Verbs: ss("get")}},
			effective: "get /healthz/*"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			eff, vain := effectiveRules(tc.kind, "team-a", tc.rules)
			if got := describeRules(eff); got != tc.effective {
				t.Errorf("effective %q, want %q", got, tc.effective)
			}
			if got := describeRules(vain); got != tc.ineffective {
				t.Errorf("ineffective %q, want %q", got, tc.ineffective)
			}
		})
	}
}

// Equivalent roles are no drift however they spell what grants nothing; the vain part
// is its own informational finding, and a Role's cluster-scoped grants raise no guardrail.
func TestIneffectiveRulesAreNoDrift(t *testing.T) {
	all := v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetAll}
	tests := map[string]struct {
		spec  v1alpha1.RoleBaselineSpec
		live  Snapshot
		types []v1alpha1.FindingType
	}{
		"live pods/* against desired pods": {
			spec:  declRole("app", readPods),
			live:  inBoth("app", readPods, pr(ss(""), ss("pods/*"), ss("get"))),
			types: []v1alpha1.FindingType{v1alpha1.FindingIneffectiveRule, v1alpha1.FindingIneffectiveRule},
		},
		"desired and live both name nodes in a Role": {
			spec:  declRole("app", readPods, pr(ss(""), ss("nodes"), ss("get"))),
			live:  inBoth("app", readPods, pr(ss(""), ss("nodes"), ss("get"))),
			types: []v1alpha1.FindingType{v1alpha1.FindingIneffectiveRule, v1alpha1.FindingIneffectiveRule},
		},
		"a Role writing webhook configurations violates no guardrail": {
			spec: func() v1alpha1.RoleBaselineSpec {
				s := declRole("app", readPods, pr(ss("admissionregistration.k8s.io"), ss("mutatingwebhookconfigurations"), ss("patch")))
				s.Guardrails = all
				return s
			}(),
			live:  inBoth("app", readPods, pr(ss("admissionregistration.k8s.io"), ss("mutatingwebhookconfigurations"), ss("patch"))),
			types: []v1alpha1.FindingType{v1alpha1.FindingIneffectiveRule, v1alpha1.FindingIneffectiveRule},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Evaluate(&tc.spec, &tc.live, nil)
			if err != nil {
				t.Fatal(err)
			}
			var types []v1alpha1.FindingType
			for _, f := range got {
				types = append(types, f.Type)
				if f.Type == v1alpha1.FindingIneffectiveRule && f.Message() == "" {
					t.Errorf("IneffectiveRule without a message")
				}
			}
			if len(types) != len(tc.types) {
				t.Fatalf("findings %v, want %v: %+v", types, tc.types, got)
			}
			for i := range types {
				if types[i] != tc.types[i] {
					t.Fatalf("findings %v, want %v", types, tc.types)
				}
			}
			c := Count(got)
			if c.Drifts != 0 || c.Violations != 0 {
				t.Fatalf("counts %+v: ineffective rules must be neither drift nor violation", c)
			}
		})
	}
}
