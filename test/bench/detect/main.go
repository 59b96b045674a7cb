// Command detect benchmarks the RoleBaseline controller end to end: how long an RBAC
// write takes to show up as drift in a RoleBaseline's status, with N RBAC objects in
// the cluster, and how much harness.Memory the manager holds.
//
// For each size it starts a fresh envtest control plane (etcd and kube-apiserver; a
// new one per size, so nothing carries over between sizes), fills it with N RBAC objects, runs the operator binary as a separate process,
// creates one RoleBaseline and waits until its status is current. It then makes K
// sequential writes to a declared Role in scope, alternately adding a rule (drift:
// RulesAdded appears) and removing it (drift resolved).
//
// With -mode enforce the baseline is an Enforce baseline: each timed write tampers a
// declared Role (adds a rule), the operator reverts it in place, and the latency is
// from the Role watch event of the tampering write to the Role watch event of the
// revert (the next event on that Role whose rules are the declared ones), both on the
// one Role watch stream. The Role's UID must never change (no delete and re-create).
//
// Latency is measured by one observer: the harness watches the written Roles and the
// RoleBaseline through the same client and stamps every event on arrival. A write's
// latency is the arrival of the first RoleBaseline event whose status reflects the
// write minus the arrival of the Role event carrying the resourceVersion the update
// returned. Client start-up and the write request itself do not count.
//
// Run from the repository root:
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-assets) go run ./test/bench/detect
//	KUBEBUILDER_ASSETS=$(make -s envtest-assets) go run ./test/bench/detect -mode enforce
//
// It prints a Markdown table on stdout and progress on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

type options struct {
	mode         string
	sizes        []int
	writes       int
	timeout      time.Duration
	manager      string
	namespaces   int
	scoped       int
	workers      int
	pause        time.Duration
	writeTimeout time.Duration
	keepLogs     bool
	logLevel     string
	verbose      bool
	managerEnv   envList
	managerArgs  envList
	drift        string
}

// Kinds of timed drift in enforce mode.
const (
	driftModify = "modify" // add a rule to the declared Role: reverted in place
	driftDelete = "delete" // delete the declared Role: created again
	driftMixed  = "mixed"  // alternate the two
)

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, ",") }

func (e *envList) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	*e = append(*e, s)
	return nil
}

func main() {
	var opts options
	flag.StringVar(&opts.mode, "mode", modeDetect, "detect: an Audit baseline, write -> finding in status; enforce: an Enforce baseline, tampering write -> reverted in place.")
	sizes := flag.String("sizes", "", "Comma-separated numbers of RBAC objects in the cluster (bootstrap RBAC included); one fresh control plane each. Default 1000,5000,20000 (detect) or 200,1000,20000 (enforce).")
	flag.IntVar(&opts.writes, "writes", 200, "Timed writes per size: detect alternately adds and removes a rule; enforce adds one, and the operator reverts it.")
	flag.DurationVar(&opts.timeout, "timeout", 20*time.Minute, "Bound on the whole run; everything is stopped and removed when it expires.")
	flag.StringVar(&opts.manager, "manager", "", "Path of a built rbac-guardrails binary; empty builds one from the repository root.")
	flag.IntVar(&opts.namespaces, "namespaces", 100, "Namespaces the Roles and RoleBindings are spread over.")
	flag.IntVar(&opts.scoped, "scoped", 0, "How many of those namespaces the RoleBaseline lists by name. 0: 10 (detect), or 50 (enforce; fewer when the size leaves no room).")
	flag.IntVar(&opts.workers, "workers", 32, "Concurrent creates while filling the cluster.")
	flag.StringVar(&opts.drift, "drift", driftModify, "Enforce mode: the timed drift, modify (add a rule), delete (the Role), or mixed (alternately).")
	flag.DurationVar(&opts.pause, "pause", 0, "Pause between one write being reflected and the next write.")
	flag.DurationVar(&opts.writeTimeout, "write-timeout", 30*time.Second, "How long to wait for one write to reach the status (detect) or be reverted (enforce) before failing.")
	flag.BoolVar(&opts.keepLogs, "print-manager-log", false, "Copy the manager's log to stderr when it stops.")
	flag.StringVar(&opts.logLevel, "manager-log-level", "info", "The manager's --zap-log-level (debug shows each status update).")
	flag.BoolVar(&opts.verbose, "v", false, "Print each write's latency on stderr.")
	flag.Var(&opts.managerEnv, "manager-env", "KEY=VALUE added to the manager's environment, e.g. GODEBUG=gctrace=1 or GOMEMLIMIT=80MiB; repeatable.")
	flag.Func("manager-arg", "An extra flag for the manager, e.g. --pprof-bind-address=127.0.0.1:6060; repeatable.", func(s string) error {
		opts.managerArgs = append(opts.managerArgs, s)
		return nil
	})
	flag.Parse()
	// envtest logs through controller-runtime's logger; the harness reports progress itself.
	ctrllog.SetLogger(logr.Discard())

	switch opts.mode {
	case modeDetect:
		if *sizes == "" {
			*sizes = "1000,5000,20000"
		}
	case modeEnforce:
		if *sizes == "" {
			*sizes = "200,1000,20000"
		}
	default:
		fmt.Fprintf(os.Stderr, "detect: -mode is %s or %s, not %q\n", modeDetect, modeEnforce, opts.mode)
		os.Exit(2)
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "detect: bad -sizes entry %q\n", s)
			os.Exit(2)
		}
		opts.sizes = append(opts.sizes, n)
	}
	if opts.drift != driftModify && opts.drift != driftDelete && opts.drift != driftMixed {
		fmt.Fprintf(os.Stderr, "detect: -drift is %s, %s or %s, not %q\n", driftModify, driftDelete, driftMixed, opts.drift)
		os.Exit(2)
	}
	if opts.scoped < 0 || opts.scoped > opts.namespaces || opts.namespaces <= 0 || opts.writes <= 0 || opts.workers <= 0 {
		fmt.Fprintln(os.Stderr, "detect: need 0 <= -scoped <= -namespaces, -writes > 0 and -workers > 0")
		os.Exit(2)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "detect: set KUBEBUILDER_ASSETS, e.g. KUBEBUILDER_ASSETS=$(make -s envtest-assets)")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	err := run(ctx, opts)
	cancel()
	stop()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (the -timeout of %s expired)", err, opts.timeout)
		}
		fmt.Fprintln(os.Stderr, "detect: FAILED:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options) error {
	harness.Progress = progress
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "rbac-guardrails-bench-detect-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// envtest makes its etcd and kube-apiserver directories under TMPDIR and does not
	// remove all of them: keep them under tmp, which is removed.
	if err := os.Setenv("TMPDIR", tmp); err != nil {
		return err
	}

	bin := opts.manager
	if bin == "" {
		if bin, err = harness.BuildManager(ctx, root, tmp); err != nil {
			return err
		}
	}

	var results []result
	for _, n := range opts.sizes {
		res, err := runSize(ctx, opts, root, tmp, bin, n)
		if err != nil {
			printTable(os.Stdout, results)
			return fmt.Errorf("size %d: %w", n, err)
		}
		results = append(results, res)
		progress("N=%d: p50 %.1f ms, p99 %.1f ms, manager RSS %.1f MB", n, res.lat.p50, res.lat.p99, harness.MB(res.memAfter.RSS))
	}
	printTable(os.Stdout, results)
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s detect: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
