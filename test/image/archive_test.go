package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// checkImageArchive writes the image archive of manager as make image-tar does, reads
// it back as docker load would, and checks the entry point, the user, the layers, and
// that the binary in the image is the manager (it answers --help).
func checkImageArchive(t *testing.T, root, manager string) {
	out := filepath.Join(t.TempDir(), "image.tar")
	cmd := exec.Command("go", "run", "./hack/image-tar", "-binary", manager, "-o", out, "-tag", "rbac-guardrails:test")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image-tar's command failed: %v\n%s", err, b)
	}
	tag, err := name.NewTag("rbac-guardrails:test")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("the archive is not an image archive docker load reads: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/rbac-guardrails" {
		t.Errorf("entry point %q, want /rbac-guardrails", got)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want the nonroot 65532:65532", cf.Config.User)
	}
	if cf.OS != "linux" {
		t.Errorf("OS %q, want linux", cf.OS)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2 (base, manager)", len(layers))
	}
	files := map[string]*tar.Header{}
	extracted := filepath.Join(t.TempDir(), "rbac-guardrails")
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = h
			if h.Name == "rbac-guardrails" {
				data, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(extracted, data, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
	}
	for name, mode := range map[string]int64{"rbac-guardrails": 0o755, "etc/passwd": 0o644, "tmp/": 0o1777} {
		h := files[name]
		if h == nil {
			t.Errorf("the image has no %s", name)
		} else if h.Mode != mode {
			t.Errorf("%s has mode %o, want %o", name, h.Mode, mode)
		}
	}
	help, _ := exec.Command(extracted, "--help").CombinedOutput() // flag's -help exits 0 or 2 by version
	if !strings.Contains(string(help), "--revert-qps") {
		t.Errorf("the binary in the image is not the manager: --help says\n%s", help)
	}
}
