package plugin_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/cli"
)

// cluster is an envtest API server with the CRDs, a client, and the plugin run
// against it through a kubeconfig file.
type cluster struct {
	env *envtest.Environment
	cfg *rest.Config
	c   client.Client
	// run runs kubectl guardrails with stdin, returning stdout, stderr and the exit code.
	run func(stdin string, args ...string) (string, string, int)
}

// start starts the API server; configure, when set, adds its flags first.
func start(t *testing.T, configure func(args *envtest.Arguments)) *cluster {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs envtest: run `make test`, or set KUBEBUILDER_ASSETS")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	if configure != nil {
		configure(env.ControlPlane.GetAPIServer().Configure())
	}
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
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, cfg: cfg, c: c, run: func(stdin string, args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(args, "--kubeconfig", kubeconfig),
			genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
		return out.String(), errOut.String(), code
	}}
}
