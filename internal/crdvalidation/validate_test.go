package crdvalidation

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/config/crd"
)

// The API server's verdicts on bad baselines are compared with this package's in
// test/crd (envtest); these are the checks the server makes silently or before.
func TestValidate(t *testing.T) {
	v, err := New(crd.RoleBaselines, "v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		in   string
		want []string // in the errors; none: valid
	}{
		"valid, defaults applied": {in: `apiVersion: guardrails.rbac-guardrails.io/v1alpha1
kind: RoleBaseline
metadata: {name: b}
spec:
  scope: {namespaces: [team-a]}
`},
		"an unknown field, which the server would drop": {in: `apiVersion: guardrails.rbac-guardrails.io/v1alpha1
kind: RoleBaseline
metadata: {name: b}
spec:
  scope: {namespaces: [team-a]}
  subjects:
  - subject: {kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}
    rule: []
`, want: []string{"spec.subjects[0].rule", "unknown field"}},
		"another kind": {in: `apiVersion: v1
kind: ConfigMap
metadata: {name: b}
`, want: []string{"kind: Invalid value", "must be RoleBaseline", "apiVersion"}},
		"a CEL rule": {in: `apiVersion: guardrails.rbac-guardrails.io/v1alpha1
kind: RoleBaseline
metadata: {name: b}
spec:
  scope: {namespaces: [team-a]}
  subjects:
  - subject: {kind: ServiceAccount, name: deployer}
`, want: []string{"spec.subjects[0]", "a ServiceAccount subject needs namespace"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.in), &obj); err != nil {
				t.Fatal(err)
			}
			errs := v.Validate(context.Background(), obj)
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs)
				}
				if mode := obj["spec"].(map[string]any)["mode"]; mode != "Audit" {
					t.Fatalf("mode defaulted to %v, want Audit", mode)
				}
				return
			}
			got := errs.ToAggregate()
			if got == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("errors lack %q: %v", w, got)
				}
			}
		})
	}
}
