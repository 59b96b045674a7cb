// Package cli is kubectl-guardrails, the operator's engine at a terminal and in CI:
// check RBAC offline or live, snapshot a cluster into baselines, explain a grant,
// list and undo the operator's journal. One implementation of "is this drift": the
// commands call internal/drift as the controllers do.
package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Exit codes, as the plugin documents them.
const (
	ExitClean    = 0 // nothing at or above --fail-on
	ExitFindings = 1 // findings at or above --fail-on
	ExitUsage    = 2 // a usage or input error; nothing was written
)

// findingsError ends a command that reported findings at or above --fail-on.
type findingsError struct{ n int }

func (e *findingsError) Error() string { return fmt.Sprintf("%d findings at or above --fail-on", e.n) }

// Main runs the plugin with args (without the program name) and returns its exit code.
func Main(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	root := NewRoot(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var found *findingsError
	switch {
	case err == nil:
		return ExitClean
	case errors.As(err, &found):
		return ExitFindings
	}
	fmt.Fprintln(streams.ErrOut, "error:", err)
	return ExitUsage
}

// NewRoot builds the command tree, with kubectl's connection flags.
func NewRoot(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "kubectl-guardrails",
		Short: "Check, snapshot, explain and undo RBAC against RoleBaselines",
		Long: `kubectl guardrails runs the rbac-guardrails engine outside the operator:
check RBAC manifests or a cluster against RoleBaselines, snapshot a cluster into
baselines, explain why a subject may do something, and list or undo the
operator's reverts. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 usage or input error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	flags.AddFlags(root.PersistentFlags())
	env := &env{flags: flags, streams: streams}
	root.AddCommand(newCheck(env), newSnapshot(env), newSuggest(env), newSimulate(env), newExplain(env), newJournal(env), newUndo(env),
		newDecide(env, v1alpha1.GrantDecisionApproved), newDecide(env, v1alpha1.GrantDecisionDenied), newRevoke(env))
	return root
}

// env is what every command shares: the connection flags and the streams.
type env struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
}

// namespace is -n, else the context's, else default: where kubectl -f puts an object
// that names none.
func (e *env) namespace() string {
	if ns := *e.flags.Namespace; ns != "" {
		return ns
	}
	if ns, _, err := e.flags.ToRawKubeConfigLoader().Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}
