// Command localcp runs a command against a throwaway local control plane: etcd and
// kube-apiserver on free loopback ports with the RoleBaseline CRD installed. It writes
// an admin kubeconfig, runs the command with KUBECONFIG set, and on exit or Ctrl-C
// stops everything and removes its temporary files.
//
// With -webhook-dir it also installs the webhook configurations found there, pointed at
// a local server with fresh serving certificates, and tells the command where to serve
// them (LOCAL_WEBHOOK_HOST, LOCAL_WEBHOOK_PORT, LOCAL_WEBHOOK_CERT_DIR) and which
// kubeconfig the operator should use (OPERATOR_KUBECONFIG: a user of its own, so the
// person's admin kubeconfig is not the operator's exempt identity).
//
// make run-local and make demo use it; KUBEBUILDER_ASSETS must name the directory of
// kube-apiserver and etcd (hack/envtest/assets.sh prints one).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	crdDir := flag.String("crd-dir", "config/crd/bases", "Directory of CRD manifests to install.")
	webhookDir := flag.String("webhook-dir", "", "Directory of webhook configurations to install, served locally; empty installs none.")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: localcp [flags] [-- shell command]\n\n"+
			"With a command, runs it with KUBECONFIG, LOCAL_METRICS_PORT and LOCAL_PROBE_PORT set and\n"+
			"stops the control plane when it ends. Without one, serves until interrupted.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	os.Exit(run(*crdDir, *webhookDir, flag.Args()))
}

func run(crdDir, webhookDir string, command []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "localcp: KUBEBUILDER_ASSETS is not set: run through `make run-local`, or set it to the output of hack/envtest/assets.sh")
		return 2
	}

	dir, err := os.MkdirTemp("", "rbac-guardrails-local-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcp:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	env := &envtest.Environment{CRDDirectoryPaths: []string{crdDir}, ErrorIfCRDPathMissing: true}
	if webhookDir != "" {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{webhookDir}}
	}
	fmt.Fprintln(os.Stderr, "localcp: starting etcd and kube-apiserver")
	if _, err := env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "localcp: starting the control plane:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "localcp: stopping the control plane:", err)
		}
		fmt.Fprintln(os.Stderr, "localcp: control plane stopped, temporary files removed")
	}()

	kubeconfig, err := writeKubeconfig(env, dir, "local-admin", "kubeconfig")
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcp:", err)
		return 1
	}
	var extraEnv []string
	if webhookDir != "" {
		operator, err := writeKubeconfig(env, dir, "rbac-guardrails-operator", "operator.kubeconfig")
		if err != nil {
			fmt.Fprintln(os.Stderr, "localcp:", err)
			return 1
		}
		wo := &env.WebhookInstallOptions
		extraEnv = []string{"OPERATOR_KUBECONFIG=" + operator, "LOCAL_WEBHOOK_HOST=" + wo.LocalServingHost,
			"LOCAL_WEBHOOK_PORT=" + strconv.Itoa(wo.LocalServingPort), "LOCAL_WEBHOOK_CERT_DIR=" + wo.LocalServingCertDir}
		fmt.Fprintf(os.Stderr, "localcp: webhooks from %s are installed and will be called at %s:%d\n", webhookDir,
			wo.LocalServingHost, wo.LocalServingPort)
	}
	fmt.Fprintf(os.Stderr, "localcp: kube-apiserver is serving at %s\n", env.Config.Host)
	fmt.Fprintf(os.Stderr, "localcp: kubeconfig written to %s; in another shell:\n\n    export KUBECONFIG=%s\n\n", kubeconfig, kubeconfig)

	if len(command) == 0 {
		fmt.Fprintln(os.Stderr, "localcp: serving; press Ctrl-C to stop")
		<-ctx.Done()
		return 0
	}
	return runCommand(ctx, command, kubeconfig, extraEnv)
}

// writeKubeconfig writes a kubeconfig for a cluster administrator (system:masters).
func writeKubeconfig(env *envtest.Environment, dir, name, file string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("creating the admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("rendering the kubeconfig: %w", err)
	}
	path := filepath.Join(dir, file)
	return path, os.WriteFile(path, data, 0o600)
}

// runCommand runs command through bash and forwards an interrupt to it, so the
// control plane outlives the command's own shutdown.
func runCommand(ctx context.Context, command []string, kubeconfig string, extraEnv []string) int {
	metricsPort, err1 := freePort()
	probePort, err2 := freePort()
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(os.Stderr, "localcp: finding free ports:", err)
		return 1
	}
	args := append([]string{"-c", command[0], "localcp"}, command[1:]...)
	cmd := exec.Command("bash", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(append(os.Environ(), extraEnv...),
		"KUBECONFIG="+kubeconfig,
		"LOCAL_METRICS_PORT="+strconv.Itoa(metricsPort),
		"LOCAL_PROBE_PORT="+strconv.Itoa(probePort))
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "localcp: starting the command:", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	select {
	case err := <-done:
		return exitCode(err)
	case <-ctx.Done():
		// Interrupted by the user: stopping cleanly is success, whatever the command's status.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done //nolint:errcheck // the command's status after an interrupt does not matter
		return 0
	}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.ExitCode() < 0 { // ended by a signal
			return 1
		}
		return exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "localcp:", err)
		return 1
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
