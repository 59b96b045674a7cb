// Package reliability runs the operator as it ships (its own process, default
// settings) against a real etcd and kube-apiserver, and breaks things around it: the
// API server and etcd restarted, the operator killed mid-revert, a writer that never
// stops, a leader that dies, watches that expire, a burst of drift. Each case asserts
// its outcome (every drift restored, nothing lost) and prints its figures; the
// figures are for docs/reliability.md, never timed assertions.
//
// `go test ./test/reliability/` (part of make test) runs every case at a small size;
// `make reliability` runs them at full size (-long) and writes the figures.
package reliability

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

var (
	long   = flag.Bool("long", false, "run every case at full size (make reliability)")
	report = flag.String("report", "", "append each case's figures, as Markdown, to this file")
)

// managerBin is the operator binary, built once for the suite.
var managerBin, repoRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	ctrllog.SetLogger(logr.Discard()) // envtest's own logs; the operator logs to files
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "reliability: set KUBEBUILDER_ASSETS, or run the tests with `make test`")
		return 1
	}
	var err error
	if repoRoot, err = harness.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "rbac-guardrails-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if managerBin, err = harness.BuildManager(ctx, repoRoot, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// size picks a case's small size for make test or its full size for make reliability.
func size[T any](small, full T) T {
	if *long {
		return full
	}
	return small
}

var reportMu sync.Mutex

// figures logs a case's results and appends them to -report as a Markdown section.
func figures(t *testing.T, title string, rows [][2]string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| figure | value |\n| --- | --- |\n", title)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	t.Log("\n" + b.String())
	if *report == "" {
		return
	}
	reportMu.Lock()
	defer reportMu.Unlock()
	path := *report
	if !filepath.IsAbs(path) {
		path = filepath.Join(repoRoot, path)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("writing the report: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\n", b.String())
}
