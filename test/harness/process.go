// Package harness runs the operator the way it ships, for benchmarks and the
// reliability suite: the manager binary built as the image builds it, started as its
// own process against an envtest etcd and kube-apiserver.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the repository: no go.mod found above the working directory")
		}
		dir = parent
	}
}

// buildFlags are the Dockerfile's (which also sets CGO_ENABLED=0): no paths and no
// symbol or DWARF tables in the binary. A smaller binary also means fewer file-backed
// pages in the manager's RSS.
var buildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// BuildManager builds the operator binary from the repository root into dir, the way
// the production image does.
func BuildManager(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "rbac-guardrails")
	Progress("building the manager: CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o %s .", bin)
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build"}, buildFlags...), "-o", bin, ".")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the manager: %w", err)
	}
	return bin, nil
}

// ControlPlane is a running envtest etcd and kube-apiserver with an admin kubeconfig.
type ControlPlane struct {
	Env        *envtest.Environment
	Cfg        *rest.Config // the harness's own client: high client-side QPS
	Kubeconfig string       // for the manager: an admin user, default client settings
}

// StartControlPlane starts etcd and kube-apiserver with the CRDs and the admission
// webhook configurations installed, as deployed (the webhooks point at a local port
// with local serving certificates: ManagerArgs), and writes an admin kubeconfig into
// dir. configure, if set, may change the environment first (API server flags, webhooks).
func StartControlPlane(root, dir string, configure func(*envtest.Environment)) (*ControlPlane, error) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")},
			LocalServingHost: "127.0.0.1"},
	}
	if configure != nil {
		configure(env)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &ControlPlane{Env: env}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 2000, 4000
	cp.Cfg = cfg

	user, err := env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		cp.Stop()
		return nil, fmt.Errorf("creating the admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		cp.Stop()
		return nil, fmt.Errorf("rendering the kubeconfig: %w", err)
	}
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, data, 0o600); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

// ManagerArgs are the flags that serve the webhooks where the API server calls them.
func (cp *ControlPlane) ManagerArgs() []string {
	wo := cp.Env.WebhookInstallOptions
	return []string{"--enable-webhooks=true", "--webhook-host=" + wo.LocalServingHost,
		"--webhook-port=" + strconv.Itoa(wo.LocalServingPort), "--webhook-cert-dir=" + wo.LocalServingCertDir}
}

// Stop stops the API server and etcd.
func (cp *ControlPlane) Stop() {
	if err := cp.Env.Stop(); err != nil {
		Progress("stopping the control plane: %v", err)
	}
}

// Progress reports what the harness does; the caller sets it (stderr, t.Logf).
var Progress = func(format string, args ...any) {}

// JournalNamespace is the manager's --journal-namespace: it must exist, and envtest has "default".
const JournalNamespace = "default"

// Manager is the operator running as a child process.
type Manager struct {
	Cmd  *exec.Cmd
	Log  string
	done chan struct{}
	err  error
}

// ManagerOptions are how a manager process starts.
type ManagerOptions struct {
	LogLevel string // --zap-log-level; "info" when empty
	LogName  string // the log file's name in dir; manager.log when empty
	Env      []string
	Args     []string // extra flags, after the defaults (a later flag wins)
}

// StartManager starts the operator binary against kubeconfig, logging into dir.
func StartManager(bin, kubeconfig, dir string, o ManagerOptions) (*Manager, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.LogName == "" {
		o.LogName = "manager.log"
	}
	logPath := filepath.Join(dir, o.LogName)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(port),
		"--leader-elect=false",
		// Off unless the arguments turn them on (ControlPlane.ManagerArgs).
		"--enable-webhooks=false",
		// The Enforce-mode journal's namespace must exist; envtest has "default".
		"--journal-namespace=" + JournalNamespace,
		"--zap-log-level=" + o.LogLevel}, o.Args...)...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), o.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C reaches the harness, which then stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &Manager{Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() {
		m.err = cmd.Wait()
		logFile.Close()
		close(m.done)
	}()
	return m, nil
}

// Exited returns an error when the manager is no longer running.
func (m *Manager) Exited() error {
	select {
	case <-m.done:
		return fmt.Errorf("the manager exited: %w; its log:\n%s", m.err, m.Tail(40))
	default:
		return nil
	}
}

// Stop sends SIGTERM, then SIGKILL after 10 s.
func (m *Manager) Stop(printLog bool) {
	select {
	case <-m.done:
	default:
		_ = m.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
			_ = m.Cmd.Process.Kill()
			<-m.done
		}
	}
	if printLog {
		fmt.Fprintf(os.Stderr, "---- manager log ----\n%s---- end of manager log ----\n", m.Tail(1<<30))
	}
}

// Kill ends the manager with SIGKILL, as an OOM kill or a node failure would, and
// waits until it is gone.
func (m *Manager) Kill() {
	_ = m.Cmd.Process.Kill()
	<-m.done
}

// Tail is the last lines of the manager's log.
func (m *Manager) Tail(lines int) string {
	data, err := os.ReadFile(m.Log)
	if err != nil {
		return err.Error()
	}
	all := strings.SplitAfter(string(data), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "")
}

// Memory is the resident memory of a process, in bytes.
type Memory struct{ RSS, HWM, Anon, File int64 }

// MemoryOf reads VmRSS, VmHWM, RssAnon and RssFile from /proc/<pid>/status.
func MemoryOf(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			m.RSS = kb * 1024
		case "VmHWM:":
			m.HWM = kb * 1024
		case "RssAnon:":
			m.Anon = kb * 1024
		case "RssFile:":
			m.File = kb * 1024
		}
	}
	return m, sc.Err()
}

// MB is b in MiB.
func MB(b int64) float64 { return float64(b) / (1 << 20) }

// FreePort is a free TCP port on the loopback address.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
