package cli

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestCheckKustomizeBuildOutput: the output of kustomize build (here this project's
// own config/default, rendered in-process with kustomize's library) is input as it
// is: its CRDs, Deployment and webhooks are skipped and listed, its RBAC snapshot and
// checked with 0 drift.
func TestCheckKustomizeBuildOutput(t *testing.T) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../config/default")
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	snap, errOut, code := run(t, string(rendered), "snapshot", "-A", "-f", "-", "--name", "deploy")
	if code != ExitClean {
		t.Fatalf("snapshot of kustomize build output: exit %d: %s", code, errOut)
	}
	if !strings.Contains(snap, "name: rbac-guardrails-manager-role") {
		t.Fatalf("the operator's ClusterRole is not in the snapshot:\n%.1500s", snap)
	}
	out, errOut, code := run(t, string(rendered)+"\n---\n"+snap, "check", "-f", "-", "--fail-on", "drift", "-o", "json")
	if code != ExitClean || !strings.Contains(out, `"drifts": 0`) {
		t.Fatalf("check: exit %d: %s\n%.2000s", code, errOut, out)
	}
	for _, kind := range []string{"CustomResourceDefinition", "Deployment", "ValidatingWebhookConfiguration"} {
		if !strings.Contains(errOut, kind) {
			t.Errorf("%s is not listed as skipped: %s", kind, errOut)
		}
	}
}
