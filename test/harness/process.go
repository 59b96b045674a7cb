package main

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

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
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

// buildManager builds the operator binary from the repository root into dir, the way
// the production image does.
func buildManager(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "rbac-guardrails")
	progress("building the manager: CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o %s .", bin)
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build"}, buildFlags...), "-o", bin, ".")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the manager: %w", err)
	}
	return bin, nil
}

// controlPlane is a running envtest etcd and kube-apiserver with an admin kubeconfig.
type controlPlane struct {
	env        *envtest.Environment
	cfg        *rest.Config // the harness's own client: high client-side QPS
	kubeconfig string       // for the manager: an admin user, default client settings
}

func startControlPlane(root, dir string) (*controlPlane, error) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &controlPlane{env: env}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 2000, 4000
	cp.cfg = cfg

	user, err := env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		cp.stop()
		return nil, fmt.Errorf("creating the admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		cp.stop()
		return nil, fmt.Errorf("rendering the kubeconfig: %w", err)
	}
	cp.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.kubeconfig, data, 0o600); err != nil {
		cp.stop()
		return nil, err
	}
	return cp, nil
}

func (cp *controlPlane) stop() {
	if err := cp.env.Stop(); err != nil {
		progress("stopping the control plane: %v", err)
	}
}

// managerProcess is the operator running as a child process.
type managerProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startManager(bin, kubeconfig, dir, logLevel string, env, args []string) (*managerProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(port),
		"--leader-elect=false",
		// No webhook configuration is registered here, so no serving certificates are needed.
		"--enable-webhooks=false",
		// The Enforce-mode journal's namespace must exist; envtest has "default".
		"--journal-namespace=" + journalNamespace,
		"--zap-log-level=" + logLevel}, args...)...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C reaches the harness, which then stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &managerProcess{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		m.err = cmd.Wait()
		logFile.Close()
		close(m.done)
	}()
	return m, nil
}

// exited returns an error when the manager is no longer running.
func (m *managerProcess) exited() error {
	select {
	case <-m.done:
		return fmt.Errorf("the manager exited: %w; its log:\n%s", m.err, m.tail(40))
	default:
		return nil
	}
}

// stop sends SIGTERM, then SIGKILL after 10 s.
func (m *managerProcess) stop(printLog bool) {
	select {
	case <-m.done:
	default:
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.done
		}
	}
	if printLog {
		fmt.Fprintf(os.Stderr, "---- manager log ----\n%s---- end of manager log ----\n", m.tail(1<<30))
	}
}

func (m *managerProcess) tail(lines int) string {
	data, err := os.ReadFile(m.log)
	if err != nil {
		return err.Error()
	}
	all := strings.SplitAfter(string(data), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "")
}

// memory is the resident memory of a process, in bytes.
type memory struct{ rss, hwm, anon, file int64 }

// memoryOf reads VmRSS, VmHWM, RssAnon and RssFile from /proc/<pid>/status.
func memoryOf(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
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
			m.rss = kb * 1024
		case "VmHWM:":
			m.hwm = kb * 1024
		case "RssAnon:":
			m.anon = kb * 1024
		case "RssFile:":
			m.file = kb * 1024
		}
	}
	return m, sc.Err()
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
