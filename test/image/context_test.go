// Package image checks that the container image's build context builds the manager:
// no Docker daemon is needed to find a Dockerfile that misses a file.
package image

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildContextBuildsTheManager copies what the Dockerfile's builder stage copies,
// as .dockerignore filters it, into an empty directory and builds the manager there
// the way the Dockerfile does.
func TestBuildContextBuildsTheManager(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	copies := builderCopies(t, filepath.Join(root, "Dockerfile"))
	ignore := ignorePatterns(t, filepath.Join(root, ".dockerignore"))
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	dir := t.TempDir()
	copied := 0
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil || ignored(f, ignore) || !copiedBy(f, copies) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		copied++
	}
	for _, unwanted := range []string{"test", "docs", ".git", "bin"} {
		if _, err := os.Stat(filepath.Join(dir, unwanted)); err == nil {
			t.Errorf("the build context holds %s/; .dockerignore should leave it out", unwanted)
		}
	}
	manager := filepath.Join(t.TempDir(), "rbac-guardrails")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", manager, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the image's build context (%d files) does not build the manager: %v\n%s", copied, err, out)
	}
	t.Run("image archive", func(t *testing.T) { checkImageArchive(t, root, manager) })
}

// builderCopies returns the sources of the COPY lines of the first (builder) stage.
func builderCopies(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var srcs []string
	stages := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 0:
		case strings.EqualFold(fields[0], "FROM"):
			stages++
		case stages == 1 && strings.EqualFold(fields[0], "COPY") && !strings.HasPrefix(fields[1], "--from"):
			srcs = append(srcs, fields[1:len(fields)-1]...)
		}
	}
	if len(srcs) == 0 {
		t.Fatal("the Dockerfile's builder stage copies nothing")
	}
	return srcs
}

func copiedBy(file string, srcs []string) bool {
	for _, s := range srcs {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "./"), "/")
		if s == "." || s == file || strings.HasPrefix(file, s+"/") {
			return true
		}
	}
	return false
}

func ignorePatterns(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.TrimSuffix(line, "/"))
		}
	}
	return out
}

// ignored: a pattern matches the file or one of its parent directories, as Docker
// matches .dockerignore patterns against paths from the context's root.
func ignored(file string, patterns []string) bool {
	parts := strings.Split(file, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, prefix); ok {
				return true
			}
		}
	}
	return false
}
