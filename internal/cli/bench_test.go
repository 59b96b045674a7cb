package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// writeWorld writes about n RBAC objects as a chart would render them (per namespace
// 45 Roles and 45 RoleBindings, a tenth of n cluster-scoped), and a baseline over half
// the namespaces, into dir.
func writeWorld(b *testing.B, dir string, n int) {
	b.Helper()
	var s strings.Builder
	cluster := n / 10
	nss := (n - cluster) / 90
	for i := range cluster / 2 {
		fmt.Fprintf(&s, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: shared-%04d}\nrules:\n- {apiGroups: [\"\", apps], resources: [pods, deployments, configmaps], verbs: [get, list, watch]}\n", i)
		fmt.Fprintf(&s, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb-%04d}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: shared-%04d}\nsubjects:\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: user-%d}\n", i, i, i)
	}
	var scope []string
	for ns := range nss {
		name := fmt.Sprintf("ns-%04d", ns)
		if ns%2 == 0 {
			scope = append(scope, name)
		}
		for j := range 45 {
			fmt.Fprintf(&s, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-%02d, namespace: %s}\nrules:\n- {apiGroups: [\"\"], resources: [pods, secrets, configmaps], verbs: [get, list]}\n", j, name)
			fmt.Fprintf(&s, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: binding-%02d, namespace: %s}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-%02d}\nsubjects:\n- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: team}\n- {kind: ServiceAccount, name: deployer, namespace: %s}\n", j, name, j, name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "rbac.yaml"), []byte(s.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	baseline := fmt.Sprintf(`apiVersion: guardrails.rbac-guardrails.io/v1alpha1
kind: RoleBaseline
metadata: {name: bench}
spec:
  scope: {namespaces: [%s], clusterScoped: true}
  roles:
  - kind: Role
    name: role-00
    rules:
    - {apiGroups: [""], resources: [pods, configmaps], verbs: [get, list]}
  subjects:
  - subject: {kind: Group, apiGroup: rbac.authorization.k8s.io, name: team}
    rules:
    - {apiGroups: [""], resources: ["*"], verbs: [get, list, watch]}
`, strings.Join(scope, ", "))
	if err := os.WriteFile(filepath.Join(dir, "baseline.yaml"), []byte(baseline), 0o600); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCheck is kubectl guardrails check of 20k objects from files, as CI runs it:
// reading and parsing the YAML, validating the baseline, evaluating, writing JSON.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	writeWorld(b, dir, 20000)
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		if code := Main(context.Background(), []string{"check", "-f", dir, "-o", "json"}, streams); code == ExitUsage {
			b.Fatal("usage error")
		}
	}
}
