package revert

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Applier writes actions, each after journaling the prior state.
type Applier struct {
	Client client.Client
	// Reader lists journal entries; pass an uncached reader so the operator does not
	// cache every ConfigMap in the cluster.
	Reader client.Reader
	// Namespace holds the journal ConfigMaps.
	Namespace string
}

// Apply journals then performs one action and returns the journal entry's name. The
// write is conditional on the live object's resourceVersion (and UID for deletes),
// so a change made since the plan fails with a conflict instead of being lost.
func (ap *Applier) Apply(ctx context.Context, rb *v1alpha1.RoleBaseline, a *Action, now time.Time) (string, error) {
	entry, err := journalEntry(rb, ap.Namespace, a, now)
	if err != nil {
		return "", err
	}
	// An entry of the same name records this very revert of this very state: an
	// earlier attempt wrote it and stopped (a crash, a timeout) before or after the write.
	existed := false
	if err := ap.Client.Create(ctx, entry); apierrors.IsAlreadyExists(err) {
		existed = true
	} else if err != nil {
		return "", fmt.Errorf("writing the journal entry for %s: %w", a.Ref, err)
	}
	if err := ap.write(ctx, a); err != nil {
		// Nothing changed: a fresh entry would only mislead an undo. One that existed
		// may belong to an attempt whose write did land, so it stays.
		if !existed {
			_ = ap.Client.Delete(ctx, entry)
		}
		return "", err
	}
	return entry.Name, nil
}

func (ap *Applier) write(ctx context.Context, a *Action) error {
	switch a.Kind {
	case v1alpha1.RevertCreate:
		return ap.Client.Create(ctx, a.Desired.DeepCopyObject().(client.Object))
	case v1alpha1.RevertUpdate:
		return ap.Client.Update(ctx, a.Desired.DeepCopyObject().(client.Object))
	case v1alpha1.RevertDelete:
		return ap.delete(ctx, a.Prior)
	case v1alpha1.RevertRecreate:
		if err := ap.delete(ctx, a.Prior); err != nil {
			return err
		}
		obj := a.Desired.DeepCopyObject().(client.Object)
		obj.SetResourceVersion("")
		obj.SetUID("")
		return ap.Client.Create(ctx, obj)
	}
	return fmt.Errorf("unknown revert action %q", a.Kind)
}

func (ap *Applier) delete(ctx context.Context, obj client.Object) error {
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	err := ap.Client.Delete(ctx, obj.DeepCopyObject().(client.Object), client.Preconditions{UID: &uid, ResourceVersion: &rv})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Prune keeps the newest limit journal entries of a baseline.
func (ap *Applier) Prune(ctx context.Context, rb *v1alpha1.RoleBaseline, limit int) error {
	return prune(ctx, ap.Reader, ap.Client, rb, ap.Namespace, limit)
}
