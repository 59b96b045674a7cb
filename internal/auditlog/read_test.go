package auditlog

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

const event = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%s","stage":"ResponseComplete","verb":"get","user":{"username":"alice"}}`

func write(t *testing.T, path string, lines []string, gz bool) {
	t.Helper()
	data := strings.Join(lines, "\n") + "\n"
	if !gz {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := gzip.NewWriter(f)
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadRotatedAndGzipped(t *testing.T) {
	dir := t.TempDir()
	ev := func(id string) string { return strings.Replace(event, "%s", id, 1) }
	write(t, filepath.Join(dir, "audit.log.1.gz"), []string{ev("a"), "", ev("b")}, true)
	write(t, filepath.Join(dir, "audit.log"), []string{ev("c")}, false)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "audit.log.1.gz"), old, old); err != nil {
		t.Fatal(err)
	}
	files, err := Files([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || filepath.Base(files[0]) != "audit.log.1.gz" {
		t.Fatalf("files, oldest first: %v", files)
	}
	var mu sync.Mutex
	var ids []string
	n, err := Read(files, func(e *auditv1.Event) {
		mu.Lock()
		ids = append(ids, string(e.AuditID))
		mu.Unlock()
	}, nil)
	if err != nil || n != 3 || len(ids) != 3 {
		t.Fatalf("read %d events (%v): %v", n, ids, err)
	}
}

func TestReadNamesTheBadLine(t *testing.T) {
	dir := t.TempDir()
	ev := strings.Replace(event, "%s", "x", 1)
	for name, tc := range map[string]struct {
		lines []string
		want  string
	}{
		"truncated":    {[]string{ev, "", ev, ev[:40]}, "bad.log:4: not an audit event (truncated, or not JSON)"},
		"another kind": {[]string{`{"kind":"Pod","apiVersion":"v1"}`}, `bad.log:1: kind "Pod", apiVersion "v1": want an audit.k8s.io/v1 Event`},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.log")
			write(t, path, tc.lines, false)
			_, err := Read([]string{path}, func(*auditv1.Event) {}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
