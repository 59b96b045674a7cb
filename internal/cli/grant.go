package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// newDecide builds approve and deny: the decision recorded under the caller's own name,
// as the admission webhook requires.
func newDecide(env *env, decision v1alpha1.GrantDecision) *cobra.Command {
	var comment string
	verb := map[v1alpha1.GrantDecision]string{v1alpha1.GrantDecisionApproved: "approve", v1alpha1.GrantDecisionDenied: "deny"}[decision]
	cmd := &cobra.Command{
		Use:   verb + " ACCESSGRANT",
		Short: "Record your decision on an AccessGrant (" + string(decision) + ")",
		Long: `The decision is recorded as yours (your user name, read from the API server) and is
final. The admission webhook refuses it from the requester, from someone outside the
rule's approvers group, and, for an approval, from someone who may not bind the role
themselves.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return updateGrant(cmd.Context(), env, args[0], func(g *v1alpha1.AccessGrant, me string) error {
				if g.Spec.Approval != nil {
					return fmt.Errorf("already %s by %s: the decision is final", g.Spec.Approval.Decision, g.Spec.Approval.By)
				}
				g.Spec.Approval = &v1alpha1.GrantApproval{Decision: decision, By: me, Comment: comment}
				return nil
			}, fmt.Sprintf("AccessGrant %%s %s.\n", map[bool]string{true: "approved", false: "denied"}[decision == v1alpha1.GrantDecisionApproved]))
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a note with the decision")
	return cmd
}

func newRevoke(env *env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ACCESSGRANT",
		Short: "End an AccessGrant now: its bindings are removed at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return updateGrant(cmd.Context(), env, args[0], func(g *v1alpha1.AccessGrant, _ string) error {
				g.Spec.Revoked = true
				return nil
			}, "AccessGrant %s revoked.\n")
		},
	}
}

// updateGrant changes one AccessGrant as the current user, and says done.
func updateGrant(ctx context.Context, env *env, name string, change func(*v1alpha1.AccessGrant, string) error, done string) error {
	l, err := connect(env)
	if err != nil {
		return err
	}
	me, err := l.whoami(ctx)
	if err != nil {
		return err
	}
	// The operator writes the grant's status as it moves: a conflict is retried on
	// the newest version.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		g := &v1alpha1.AccessGrant{}
		if err := l.c.Get(ctx, client.ObjectKey{Name: name}, g); err != nil {
			return err
		}
		if err := change(g, me); err != nil {
			return err
		}
		return l.c.Update(ctx, g)
	})
	if err != nil {
		return fmt.Errorf("AccessGrant %s: %w", name, err)
	}
	_, err = fmt.Fprintf(env.streams.Out, done, name)
	return err
}

// whoami is the current user's name as the API server authenticates it.
func (l *live) whoami(ctx context.Context) (string, error) {
	r := &authenticationv1.SelfSubjectReview{}
	if err := l.c.Create(ctx, r); err != nil {
		return "", fmt.Errorf("asking the API server who you are (SelfSubjectReview): %w", err)
	}
	return r.Status.UserInfo.Username, nil
}
