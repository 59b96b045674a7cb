package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

type undoOptions struct {
	namespace string
	pause     bool
	dryRun    bool
}

func newUndo(env *env) *cobra.Command {
	o := &undoOptions{}
	cmd := &cobra.Command{
		Use:   "undo ENTRY",
		Short: "Restore the object a journal entry records, exactly as it was",
		Long: `undo puts back what one Enforce write changed: the prior object of an Update
(replaced in place), a Delete (created again) or a Recreate (the recreated binding
deleted, the prior one created); for a Create it deletes what the operator created.

It refuses when an Enforce baseline would revert the restore at once (the restore
would bring back drift or a violation it reverts), unless --pause-baseline, which
switches those baselines to Audit first and says so.`,
		Example: `  kubectl guardrails journal team-payments
  kubectl guardrails undo rbl-journal-team-payments-3f2a9c1b7d04
  kubectl guardrails undo rbl-journal-team-payments-3f2a9c1b7d04 --pause-baseline`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, env, args[0]) },
	}
	cmd.Flags().StringVar(&o.namespace, "journal-namespace", defaultJournalNamespace, "the namespace the operator keeps its journal in (its --journal-namespace)")
	cmd.Flags().BoolVar(&o.pause, "pause-baseline", false, "switch Enforce baselines that would revert the restore to Audit")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "say what would be done, and do nothing")
	return cmd
}

func (o *undoOptions) run(cmd *cobra.Command, env *env, name string) error {
	ctx := cmd.Context()
	l, err := connect(env)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{}
	if err := l.c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: name}, cm); err != nil {
		return fmt.Errorf("journal entry %s in namespace %s: %w", name, o.namespace, err)
	}
	if _, ok := cm.Labels[revert.JournalLabel]; !ok {
		return fmt.Errorf("ConfigMap %s/%s is not a journal entry (no %s label)", o.namespace, name, revert.JournalLabel)
	}
	action := v1alpha1.RevertAction(cm.Annotations[revert.AnnotationAction])
	restore, remove, err := undoObjects(action, cm)
	if err != nil {
		return fmt.Errorf("journal entry %s: %w", name, err)
	}
	// What the cluster looks like after the undo, for the baselines to judge.
	target := restore
	if target == nil {
		target = remove
	}
	blocking, err := l.wouldRevert(ctx, target, restore == nil)
	if err != nil {
		return err
	}
	if len(blocking) > 0 && !o.pause {
		return fmt.Errorf("RoleBaseline %s is in Enforce mode and would revert the restore at once (%s); "+
			"pass --pause-baseline to switch it to Audit first, or change it to declare the restored state", blocking[0].name, blocking[0].why)
	}
	out := env.streams.Out
	if o.dryRun {
		fmt.Fprintf(out, "Would undo %s (%s of %s)", name, action, cm.Annotations[revert.AnnotationObject])
		for _, b := range blocking {
			fmt.Fprintf(out, "; would switch RoleBaseline %s to Audit", b.name)
		}
		fmt.Fprintln(out, ".")
		return nil
	}
	for _, b := range blocking {
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"mode":"Audit"}}`))
		if err := l.c.Patch(ctx, &v1alpha1.RoleBaseline{ObjectMeta: metaName(b.name)}, patch); err != nil {
			return fmt.Errorf("switching RoleBaseline %s to Audit: %w", b.name, err)
		}
		fmt.Fprintf(out, "RoleBaseline %s switched to Audit, so that it does not revert the restore; set spec.mode: Enforce again once it declares the restored state.\n", b.name)
	}
	if err := l.apply(ctx, action, restore, remove); err != nil {
		return err
	}
	fmt.Fprintf(out, "Undid %s: %s of %s reversed.\n", name, action, cm.Annotations[revert.AnnotationObject])
	return nil
}

// undoObjects reads what an entry restores and what it removes.
func undoObjects(action v1alpha1.RevertAction, cm *corev1.ConfigMap) (restore, remove client.Object, err error) {
	read := func(key string) (client.Object, error) {
		data, ok := cm.Data[key]
		if !ok {
			return nil, fmt.Errorf("a %s entry has no %s", action, key)
		}
		return decodeRBAC([]byte(data))
	}
	switch action {
	case v1alpha1.RevertUpdate, v1alpha1.RevertDelete, v1alpha1.RevertRecreate:
		restore, err = read(revert.PriorKey)
		return restore, nil, err
	case v1alpha1.RevertCreate:
		remove, err = read(revert.CreatedKey)
		return nil, remove, err
	}
	return nil, nil, fmt.Errorf("unknown action %q", action)
}

// decodeRBAC decodes one RBAC object of the journal's JSON.
func decodeRBAC(data []byte) (client.Object, error) {
	var tm struct{ Kind string }
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	var obj client.Object
	switch tm.Kind {
	case drift.KindRole:
		obj = &rbacv1.Role{}
	case drift.KindClusterRole:
		obj = &rbacv1.ClusterRole{}
	case drift.KindRoleBinding:
		obj = &rbacv1.RoleBinding{}
	case drift.KindClusterRoleBinding:
		obj = &rbacv1.ClusterRoleBinding{}
	default:
		return nil, fmt.Errorf("kind %q is not RBAC", tm.Kind)
	}
	return obj, json.Unmarshal(data, obj)
}

type blocker struct{ name, why string }

// wouldRevert lists the Enforce baselines for which obj (removed when deleted)
// introduces drift or a violation: what they revert.
func (l *live) wouldRevert(ctx context.Context, obj client.Object, deleted bool) ([]blocker, error) {
	baselines, err := l.baselines(ctx)
	if err != nil {
		return nil, err
	}
	var snap *drift.Snapshot
	var out []blocker
	for i := range baselines {
		rb := &baselines[i]
		if rb.Spec.Mode != v1alpha1.ModeEnforce {
			continue
		}
		if snap == nil {
			if snap, err = l.snapshot(ctx, nil); err != nil {
				return nil, err
			}
		}
		e, err := drift.NewEvaluator(&rb.Spec, nil)
		if err != nil {
			return nil, fmt.Errorf("RoleBaseline %s: %w", rb.Name, err)
		}
		e.Load(snap)
		introduced, err := e.Preview(obj, deleted)
		if err != nil {
			return nil, err
		}
		for _, f := range introduced {
			if !f.Type.IsAdvisory() {
				out = append(out, blocker{rb.Name, f.Message()})
				break
			}
		}
	}
	return out, nil
}

// apply restores or removes, as the action's undo asks.
func (l *live) apply(ctx context.Context, action v1alpha1.RevertAction, restore, remove client.Object) error {
	if remove != nil {
		if err := l.c.Delete(ctx, remove); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s: %w", describe(remove), err)
		}
		return nil
	}
	current := restore.DeepCopyObject().(client.Object)
	err := l.c.Get(ctx, client.ObjectKeyFromObject(restore), current)
	switch {
	case apierrors.IsNotFound(err):
		return create(ctx, l.c, restore)
	case err != nil:
		return fmt.Errorf("reading %s: %w", describe(restore), err)
	case action == v1alpha1.RevertRecreate:
		// The roleRef is immutable: the recreated binding goes, the prior one comes back.
		if err := l.c.Delete(ctx, current, client.Preconditions{UID: ptr(current.GetUID())}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the recreated %s: %w", describe(current), err)
		}
		return create(ctx, l.c, restore)
	}
	restore.SetResourceVersion(current.GetResourceVersion())
	if err := l.c.Update(ctx, restore); err != nil {
		return fmt.Errorf("restoring %s: %w", describe(restore), err)
	}
	return nil
}

func create(ctx context.Context, c client.Client, obj client.Object) error {
	obj.SetResourceVersion("")
	if err := c.Create(ctx, obj); err != nil {
		return fmt.Errorf("creating %s: %w", describe(obj), err)
	}
	return nil
}

func describe(obj client.Object) string {
	ref, _ := drift.RefOf(obj)
	return strings.TrimSpace(ref.String())
}

func ptr[T any](v T) *T { return &v }
