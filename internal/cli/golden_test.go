package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs the plugin as a user would, in this directory.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

// golden compares got with testdata/golden/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to write it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (go test ./internal/cli -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestCheckGolden(t *testing.T) {
	for _, format := range []string{"table", "json", "yaml", "sarif"} {
		t.Run(format, func(t *testing.T) {
			out, errOut, code := run(t, "", "check", "-f", "testdata/check", "-o", format)
			if code != ExitFindings {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, errOut)
			}
			if !strings.Contains(errOut, "Deployment (1)") {
				t.Errorf("the skipped Deployment is not listed on stderr: %q", errOut)
			}
			golden(t, "check."+format, out)
			if format == "sarif" {
				validateSARIF(t, out)
			}
		})
	}
}

// TestCheckFailOn: the exit code follows --fail-on, and stdin is an input like a file.
func TestCheckFailOn(t *testing.T) {
	rbac, err := os.ReadFile("testdata/check/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		failOn string
		want   int
	}{
		{"drift,High", ExitFindings},
		{"Critical", ExitClean}, // no Critical finding, and drift not asked for
		{"High", ExitFindings},  // the secrets guardrail and the ceiling are High
		{"drift", ExitFindings},
		{"none", ExitClean},
		{"any", ExitFindings},
		{"Urgent", ExitUsage},
	} {
		_, errOut, code := run(t, string(rbac), "check", "-f", "testdata/check/baseline.yaml", "-f", "-", "--fail-on", tc.failOn, "-o", "json")
		if code != tc.want {
			t.Errorf("--fail-on %s: exit %d, want %d (%s)", tc.failOn, code, tc.want, errOut)
		}
	}
}

// TestBadInput: each bad input names its file, line and field, exits 2 and writes
// nothing on stdout.
func TestBadInput(t *testing.T) {
	for file, want := range map[string]string{
		"unknown-field.yaml": "testdata/bad/unknown-field.yaml:11: RoleBaseline typo: spec.roles[0].rule: Unsupported value",
		"cel.yaml":           "testdata/bad/cel.yaml:9: RoleBaseline cel: spec.subjects[0]: Invalid value",
		"not-yaml.yaml":      "testdata/bad/not-yaml.yaml:",
		"role-typo.yaml":     `testdata/bad/role-typo.yaml:1: Role reader: unknown field "rulez"`,
		"overlap.yaml":       "testdata/bad/overlap.yaml:14: RoleBaseline overlap: spec.roles[1]: Role reader is declared twice in namespace team-a",
		"twice.yaml":         "testdata/bad/twice.yaml:5: ClusterRole a is also at testdata/bad/twice.yaml:1",
	} {
		t.Run(file, func(t *testing.T) {
			out, errOut, code := run(t, "", "check", "-f", "testdata/check/baseline.yaml", "-f", filepath.Join("testdata", "bad", file))
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d", code, ExitUsage)
			}
			if out != "" {
				t.Errorf("wrote %q on bad input", out)
			}
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr %q lacks %q", errOut, want)
			}
		})
	}
	if _, errOut, code := run(t, "", "check"); code != ExitUsage || !strings.Contains(errOut, "nothing to check") {
		t.Errorf("no input: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, "", "check", "-f", "testdata/check/rbac.yaml"); code != ExitUsage || !strings.Contains(errOut, "no RoleBaseline") {
		t.Errorf("no baseline: exit %d, %q", code, errOut)
	}
}

// TestSnapshotRoundTrip: a snapshot of the corpus, checked against the corpus,
// reports no drift; its header says what was read.
func TestSnapshotRoundTrip(t *testing.T) {
	now = func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	defer func() { now = time.Now }()
	corpus, err := filepath.Glob(filepath.Join("..", "..", "testdata", "corpus", "*.yaml"))
	if err != nil || len(corpus) < 5 {
		t.Fatalf("corpus: %v %v", corpus, err)
	}
	args := []string{"snapshot", "-A"}
	for _, f := range corpus {
		args = append(args, "-f", f)
	}
	snap, errOut, code := run(t, "", args...)
	if code != ExitClean {
		t.Fatalf("snapshot: exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(snap, "# RoleBaselines written by kubectl guardrails snapshot at 2026-12-04T12:00:00Z\n") {
		t.Fatalf("header: %q", strings.SplitN(snap, "\n", 2)[0])
	}
	check := []string{"check", "-f", "-", "--fail-on", "drift", "-o", "json"}
	for _, f := range corpus {
		check = append(check, "-f", f)
	}
	out, errOut, code := run(t, snap, check...)
	if code != ExitClean {
		t.Fatalf("check of the snapshot: exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, `"drifts": 0`) {
		t.Fatalf("drift reported:\n%s", out)
	}
	one, _, _ := run(t, "", "snapshot", "-A", "-f", "testdata/check/rbac.yaml", "--name", "team-a")
	golden(t, "snapshot.yaml", one)
	list, _, _ := run(t, "", "snapshot", "-A", "-f", "testdata/check/rbac.yaml", "--name", "team-a", "-o", "json")
	golden(t, "snapshot.json", list)
}

func TestExplainGolden(t *testing.T) {
	for name, args := range map[string][]string{
		"explain-ceiling.txt": {"explain", "ServiceAccount:team-a:ci", "get", "secrets", "-n", "team-a", "-f", "testdata/check/rbac.yaml"},
		"explain-denied.txt":  {"explain", "User:mallory", "delete", "pods", "-n", "team-a", "-f", "testdata/check/rbac.yaml"},
		"explain-group.json":  {"explain", "alice", "list", "configmaps", "-n", "team-a", "--group", "team-a", "-f", "testdata/check/rbac.yaml", "-o", "json"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := run(t, "", args...)
			if code != ExitClean {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, name, out)
		})
	}
}

// TestSuggestAndSimulateGolden: suggest on a small log keeps what was used, and
// simulate of the team-a baseline shows the one recorded request it would deny.
func TestSuggestAndSimulateGolden(t *testing.T) {
	now = func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	defer func() { now = time.Now }()
	log := "testdata/audit/audit.log"
	for name, args := range map[string][]string{
		"suggest.yaml":       {"suggest", "--audit-log", log, "-f", "testdata/check/rbac.yaml"},
		"suggest-roles.yaml": {"suggest", "--audit-log", log, "-f", "testdata/check/rbac.yaml", "-o", "roles"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := run(t, "", args...)
			if code != ExitClean {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, name, out)
		})
	}
	suggested, _, _ := run(t, "", "suggest", "--audit-log", log, "-f", "testdata/check/rbac.yaml")
	if out, errOut, code := run(t, suggested, "simulate", "--audit-log", log, "-f", "-", "-f", "testdata/check/rbac.yaml"); code != ExitClean {
		t.Fatalf("simulate of the suggestion: exit %d: %s\n%s", code, errOut, out)
	}
	for _, format := range []string{"table", "json"} {
		out, errOut, code := run(t, "", "simulate", "--audit-log", log, "-f", "testdata/check", "-o", format)
		if code != ExitFindings {
			t.Fatalf("simulate -o %s: exit %d: %s", format, code, errOut)
		}
		golden(t, "simulate."+format, out)
	}
	if _, errOut, code := run(t, "", "suggest", "--audit-log", "testdata/bad/cel.yaml", "-f", "testdata/check/rbac.yaml"); code != ExitUsage ||
		!strings.Contains(errOut, "testdata/bad/cel.yaml:1: not an audit event") {
		t.Fatalf("a file that is not an audit log: exit %d: %s", code, errOut)
	}
}

// TestKrewManifest: the krew template installs this binary under the plugin's name.
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile("../../hack/krew/guardrails.yaml")
	if err != nil {
		t.Fatal(err)
	}
	filled := os.Expand(string(data), func(string) string { return "0" })
	var m struct {
		Kind     string
		Metadata struct{ Name string }
		Spec     struct {
			Platforms []struct{ Bin, URI string }
		}
	}
	if err := yaml.Unmarshal([]byte(filled), &m); err != nil {
		t.Fatal(err)
	}
	root := NewRoot(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	if m.Kind != "Plugin" || m.Metadata.Name != strings.TrimPrefix(root.Name(), "kubectl-") || len(m.Spec.Platforms) == 0 {
		t.Fatalf("manifest %+v for command %s", m, root.Name())
	}
	for _, p := range m.Spec.Platforms {
		if p.Bin != root.Name() || !strings.HasSuffix(p.URI, ".tar.gz") {
			t.Errorf("platform %+v", p)
		}
	}
}
