package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Restarted is a control-plane process started again by Restart; Stop ends it.
type Restarted struct{ cmd *exec.Cmd }

// Stop ends the restarted process and waits for it.
func (r *Restarted) Stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}

// Restart stops the control-plane process named name (kube-apiserver, etcd) whose
// command line holds marker (its port, so parallel test binaries' processes are left
// alone), keeps it down for down, and starts it again with the same command line and
// environment: its data and certificates stay, as after a crash or an upgrade. It
// returns when the new process has started.
func Restart(name, marker string, down time.Duration) (*Restarted, error) {
	pid, argv, env, err := findProcess(name, marker)
	if err != nil {
		return nil, err
	}
	p, _ := os.FindProcess(pid)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			_ = p.Kill()
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(down)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s again: %w", name, err)
	}
	return &Restarted{cmd: cmd}, nil
}

// running reports whether pid is alive (a zombie, exited but not reaped, is not).
func running(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

func findProcess(name, marker string) (int, []string, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, nil, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !running(pid) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if filepath.Base(argv[0]) != name || !strings.Contains(string(raw), marker) {
			continue
		}
		envRaw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			return 0, nil, nil, err
		}
		return pid, argv, strings.Split(strings.TrimRight(string(envRaw), "\x00"), "\x00"), nil
	}
	return 0, nil, nil, fmt.Errorf("no running %s with %q on its command line", name, marker)
}
