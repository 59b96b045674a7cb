package kubectldiff

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// TestDifferentialKubectlReconcile checks the engine's rule diff against
// `kubectl auth reconcile --dry-run=client --remove-extra-permissions`, which computes
// the same difference for a desired ClusterRole against the live one on a real API
// server: its "missing rules added" must equal our RulesRemoved and its "extra rules
// removed" our RulesAdded, compared piece by piece (validation.BreakdownRule).
func TestDifferentialKubectlReconcile(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run through `make test`, which points it at the envtest binaries")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test` (or set it to the output of `make envtest-assets`) to diff against kubectl")
	}
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := env.AddUser(envtest.User{Name: "kubectldiff", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubectl, err := admin.Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	type pair struct{ desired, live []rbacv1.PolicyRule }
	cases := map[string]pair{
		"equal":            {[]rbacv1.PolicyRule{readPods}, []rbacv1.PolicyRule{readPods}},
		"split vs merged":  {[]rbacv1.PolicyRule{pr(ss("", "apps"), ss("pods", "deployments"), ss("get", "list"))}, []rbacv1.PolicyRule{pr(ss(""), ss("pods"), ss("get")), pr(ss(""), ss("pods", "deployments"), ss("list")), pr(ss(""), ss("deployments"), ss("get")), pr(ss("apps"), ss("deployments", "pods"), ss("list", "get"))}},
		"verb added":       {[]rbacv1.PolicyRule{readPods}, []rbacv1.PolicyRule{pr(ss(""), ss("pods"), ss("get", "list", "watch", "delete"))}},
		"wildcards live":   {[]rbacv1.PolicyRule{readPods}, []rbacv1.PolicyRule{pr(ss("*"), ss("*"), ss("*"))}},
		"wildcards wanted": {[]rbacv1.PolicyRule{pr(ss("*"), ss("*"), ss("*"))}, []rbacv1.PolicyRule{readPods}},
		"subresources":     {[]rbacv1.PolicyRule{pr(ss(""), ss("pods", "*/status"), ss("get"))}, []rbacv1.PolicyRule{pr(ss(""), ss("pods", "pods/exec", "pods/status"), ss("get", "create"))}},
		"resourceNames": {[]rbacv1.PolicyRule{{APIGroups: ss(""), Resources: ss("configmaps"), Verbs: ss("get"), ResourceNames: ss("a")}},
			[]rbacv1.PolicyRule{{APIGroups: ss(""), Resources: ss("configmaps"), Verbs: ss("get", "update"), ResourceNames: ss("a", "b")}}},
		"nonResourceURLs": {[]rbacv1.PolicyRule{urlRule(ss("/metrics*", "/healthz"), ss("get"))}, []rbacv1.PolicyRule{urlRule(ss("/metrics/x", "/livez", "/healthz"), ss("get", "post"))}},
	}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 24; i++ {
		cases[fmt.Sprintf("random-%02d", i)] = pair{randomRules(rng), randomRules(rng)}
	}

	ctx := context.Background()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			roleName := "diff-" + strings.ReplaceAll(strings.ReplaceAll(name, " ", "-"), "/", "-")
			live := clusterRole(roleName, tc.live...)
			if err := c.Create(ctx, &live); err != nil {
				t.Fatalf("creating live role: %v", err)
			}
			desired := clusterRole(roleName, tc.desired...)
			desired.TypeMeta = metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}
			file := filepath.Join(dir, roleName+".yaml")
			body, err := yaml.Marshal(&desired)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, body, 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, err := kubectl.Run("auth", "reconcile", "-f", file, "--dry-run=client", "--remove-extra-permissions", "-o", "yaml")
			if err != nil {
				t.Fatalf("kubectl auth reconcile: %v", err)
			}
			wantMissing, wantExtra := parseReconcile(t, stderr)

			spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
				Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: roleName, Rules: drift.ToAPIRules(tc.desired...)}}}
			fs, err := drift.Evaluate(&spec, &drift.Snapshot{ClusterRoles: []rbacv1.ClusterRole{live}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var gotMissing, gotExtra []string
			for _, f := range fs {
				switch f.Type {
				case v1alpha1.FindingRulesRemoved:
					gotMissing = pieces(f.Rules)
				case v1alpha1.FindingRulesAdded:
					gotExtra = pieces(f.Rules)
				}
			}
			if !slices.Equal(gotMissing, wantMissing) {
				t.Errorf("missing rules differ\nengine:  %v\nkubectl: %v", gotMissing, wantMissing)
			}
			if !slices.Equal(gotExtra, wantExtra) {
				t.Errorf("extra rules differ\nengine:  %v\nkubectl: %v", gotExtra, wantExtra)
			}
		})
	}
}

// pieces breaks rules into single-verb, single-resource pieces rendered the way
// kubectl prints them, as a sorted set.
func pieces(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, p := range validation.BreakdownRule(r) {
			out = append(out, fmt.Sprintf("%+v", p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseReconcile reads kubectl auth reconcile's report of missing and extra rules.
func parseReconcile(t *testing.T, stderr io.Reader) (missing, extra []string) {
	t.Helper()
	var into *[]string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		switch strings.TrimSpace(line) {
		case "missing rules added:":
			into = &missing
			continue
		case "extra rules removed:":
			into = &extra
			continue
		}
		if strings.HasPrefix(line, "\t\t{") && into != nil {
			*into = append(*into, strings.TrimSpace(line))
		} else if !strings.HasPrefix(line, "\treconciliation required") {
			into = nil
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return slices.Compact(missing), slices.Compact(extra)
}

var readPods = pr(ss(""), ss("pods"), ss("get", "list", "watch"))

func ss(xs ...string) []string { return xs }

func pr(groups, resources, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

func urlRule(urls, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{NonResourceURLs: urls, Verbs: verbs}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

// randomRules draws one to three valid rules from a small vocabulary rich in
// wildcards, subresources, resourceNames and nonResourceURLs.
func randomRules(rng *rand.Rand) []rbacv1.PolicyRule {
	some := func(xs []string, max int) []string {
		out := make([]string, 1+rng.Intn(max))
		for i := range out {
			out[i] = xs[rng.Intn(len(xs))]
		}
		return out
	}
	groups := ss("", "apps", "*", "rbac.authorization.k8s.io")
	resources := ss("pods", "secrets", "pods/exec", "*", "*/exec", "deployments", "nodes/proxy", "roles")
	verbs := ss("get", "list", "create", "*", "bind", "delete")
	out := make([]rbacv1.PolicyRule, 1+rng.Intn(3))
	for i := range out {
		if rng.Intn(5) == 0 {
			out[i] = urlRule(some(ss("/metrics", "/healthz*", "*", "/api"), 2), some(ss("get", "post", "*"), 2))
			continue
		}
		out[i] = pr(some(groups, 2), some(resources, 3), some(verbs, 3))
		if rng.Intn(6) == 0 {
			out[i].ResourceNames = some(ss("a", "b"), 2)
		}
	}
	return out
}
