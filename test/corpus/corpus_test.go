// Package corpus_test judges real RBAC: the bootstrap policy of envtest's
// kube-apiserver plus the published RBAC of widely used public projects
// (testdata/corpus, with origin, commit and licence in each file's header). A
// baseline snapshot writes from those objects must be accepted by the CRD and report
// no drift against them; the guardrail findings on them are kept in a golden file a
// reviewer can read (testdata/corpus/findings.golden; -update rewrites it).
package corpus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/cli"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
	"github.com/rbac-guardrails/rbac-guardrails/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus/findings.golden")

var corpusDir = filepath.Join("..", "..", "testdata", "corpus")

// defaultNamespace is where a project's manifests go when they name none (they are
// applied with -n), as its install instructions say.
var defaultNamespace = map[string]string{"argo-cd": "argocd"}

func TestCorpus(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs envtest: run `make test`, or set KUBEBUILDER_ASSETS")
	}
	ctx := context.Background()
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	if err := v1alpha1.AddToScheme(scheme.Scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := operator.DiscoverServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	guardrails.SetServer(srv)
	t.Cleanup(func() { guardrails.SetServer(guardrails.Server{}) })

	applyCorpus(ctx, t, c)
	snap := live(ctx, t, c)
	t.Logf("live: %d ClusterRoles, %d ClusterRoleBindings, %d Roles, %d RoleBindings",
		len(snap.ClusterRoles), len(snap.ClusterRoleBindings), len(snap.Roles), len(snap.RoleBindings))

	baselines, err := snapshot.Baselines(snap, snapshot.Options{Name: "corpus", IncludeSystem: true})
	if err != nil {
		t.Fatal(err)
	}
	var all []drift.Finding
	for i := range baselines {
		rb := &baselines[i]
		if err := c.Create(ctx, rb); err != nil {
			t.Fatalf("the CRD refuses baseline %s: %v", rb.Name, err)
		}
		fs, err := drift.Evaluate(&rb.Spec, snap, nil)
		if err != nil {
			t.Fatalf("baseline %s: %v", rb.Name, err)
		}
		for _, f := range fs {
			if f.Type.IsDrift() {
				t.Errorf("baseline %s reports drift against the objects it was written from: %s", rb.Name, f.Message())
				continue
			}
			all = append(all, f)
		}
		roles, _ := json.Marshal(rb.Spec.Roles)
		bindings, _ := json.Marshal(rb.Spec.Bindings)
		t.Logf("baseline %s: %d roles in %d bytes (%d each), %d bindings in %d bytes (%d each)", rb.Name,
			len(rb.Spec.Roles), len(roles), len(roles)/max(1, len(rb.Spec.Roles)), len(rb.Spec.Bindings), len(bindings), len(bindings)/max(1, len(rb.Spec.Bindings)))
	}
	pluginRoundTrip(t, env)
	drift.SortFindings(all) // most severe first
	var b strings.Builder
	b.WriteString("# Guardrail findings on the bootstrap policy of envtest's kube-apiserver and on testdata/corpus,\n")
	b.WriteString("# most severe first. Rewritten by: go test ./test/corpus/ -update (with KUBEBUILDER_ASSETS set).\n")
	for _, f := range all {
		fmt.Fprintf(&b, "%-8s %s: %s\n", f.Severity, kindOf(&f), f.Message())
	}
	golden(t, filepath.Join(corpusDir, "findings.golden"), b.String())
}

func kindOf(f *drift.Finding) string {
	if f.Guardrail != "" {
		return string(f.Guardrail)
	}
	return string(f.Type)
}

// applyCorpus creates every object of testdata/corpus, with the namespaces they need.
func applyCorpus(ctx context.Context, t *testing.T, c client.Client) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("want at least five corpus files, got %d (%v)", len(files), err)
	}
	for _, file := range files {
		project := strings.TrimSuffix(filepath.Base(file), ".yaml")
		objs := decode(t, file)
		for _, obj := range objs {
			if ns := obj.GetNamespace(); ns == "" && namespaced(obj) {
				obj.SetNamespace(defaultNamespace[project])
			}
			if ns := obj.GetNamespace(); ns != "" {
				err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatal(err)
				}
			}
			if err := c.Create(ctx, obj); err != nil {
				t.Fatalf("%s: creating %s %s: %v", file, obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
			}
		}
	}
}

func namespaced(obj client.Object) bool {
	switch obj.(type) {
	case *rbacv1.Role, *rbacv1.RoleBinding:
		return true
	}
	return false
}

// decode reads the RBAC objects of a multi-document YAML file.
func decode(t *testing.T, file string) []client.Object {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []client.Object
	d := yaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		obj, err := scheme.Scheme.New(u.GroupVersionKind())
		if err != nil {
			t.Fatalf("%s: %s is not an RBAC kind: %v", file, u.GetKind(), err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
			t.Fatalf("%s: %s %s: %v", file, u.GetKind(), u.GetName(), err)
		}
		out = append(out, obj.(client.Object))
	}
}

// live lists what the API server holds: its bootstrap policy and the corpus.
func live(ctx context.Context, t *testing.T, c client.Client) *drift.Snapshot {
	var (
		crs  rbacv1.ClusterRoleList
		crbs rbacv1.ClusterRoleBindingList
		rs   rbacv1.RoleList
		rbs  rbacv1.RoleBindingList
		nss  corev1.NamespaceList
	)
	for _, l := range []client.ObjectList{&crs, &crbs, &rs, &rbs, &nss} {
		if err := c.List(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	return &drift.Snapshot{ClusterRoles: crs.Items, ClusterRoleBindings: crbs.Items, Roles: rs.Items, RoleBindings: rbs.Items, Namespaces: nss.Items}
}

func golden(t *testing.T, path, got string) {
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./test/corpus/ -update)", err)
	}
	if string(want) != got {
		t.Errorf("findings differ from %s (if the change is intended, run: go test ./test/corpus/ -update and review the diff):\n%s",
			path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// pluginRoundTrip: kubectl guardrails snapshot of the same cluster, checked by
// kubectl guardrails check --cluster, reports no drift; and check --cluster with the
// cluster's own baselines (created above) reports none either.
func pluginRoundTrip(t *testing.T, env *envtest.Environment) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(args, "--kubeconfig", kubeconfig),
			genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
		return out.String(), errOut.String(), code
	}
	snap, errOut, code := run("", "snapshot", "-A", "--include-system", "--name", "plugin")
	if code != cli.ExitClean {
		t.Fatalf("kubectl guardrails snapshot: exit %d: %s", code, errOut)
	}
	t.Logf("snapshot header:\n%s", strings.Join(strings.SplitN(snap, "\n", 4)[:3], "\n"))
	for _, args := range [][]string{
		{"check", "--cluster", "-f", "-", "--fail-on", "drift", "-o", "json"}, // the snapshot, against the cluster
		{"check", "--cluster", "--fail-on", "drift", "-o", "json"},            // the cluster's own baselines
	} {
		out, errOut, code := run(snap, args...)
		if code != cli.ExitClean || !strings.Contains(out, `"drifts": 0`) {
			t.Errorf("kubectl guardrails %s: exit %d, stderr %s\n%.2000s", strings.Join(args, " "), code, errOut, out)
		}
	}
}
