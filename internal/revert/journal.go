package revert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Journal entries are ConfigMaps in one namespace, one per write, labelled with the
// baseline's UID (names can be longer than a label value) and owned by the baseline.
const (
	// JournalLabel marks a ConfigMap as a journal entry; its value is the baseline's UID.
	JournalLabel = "guardrails.rbac-guardrails.io/journal-of"
	// AnnotationBaseline, AnnotationAction and AnnotationObject describe an entry.
	AnnotationBaseline = "guardrails.rbac-guardrails.io/baseline"
	AnnotationAction   = "guardrails.rbac-guardrails.io/action"
	AnnotationObject   = "guardrails.rbac-guardrails.io/object"
	AnnotationTime     = "guardrails.rbac-guardrails.io/time"
	// AnnotationDriftedBy names who left the object as the entry records it: the user
	// from the audit log and the field manager, when known.
	AnnotationDriftedBy = "guardrails.rbac-guardrails.io/drifted-by"
	// PriorKey holds the object's prior state as JSON, ready for kubectl create or
	// replace; CreatedKey holds what a Create wrote, for an undo that deletes it.
	PriorKey   = "prior.json"
	CreatedKey = "created.json"
)

// timeFormat is fixed-width so entries sort by time as strings.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// journalEntry builds the ConfigMap recording an action before it is applied.
func journalEntry(rb *v1alpha1.RoleBaseline, namespace string, a *Action, now time.Time) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      entryName(rb, a),
			Namespace: namespace,
			Labels:    map[string]string{JournalLabel: string(rb.UID)},
			Annotations: map[string]string{
				AnnotationBaseline: rb.Name,
				AnnotationAction:   string(a.Kind),
				AnnotationObject:   a.Ref.String(),
				AnnotationTime:     now.UTC().Format(timeFormat),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rb, v1alpha1.GroupVersion.WithKind("RoleBaseline"))},
		},
		Data: map[string]string{},
	}
	if a.DriftedBy != "" {
		cm.Annotations[AnnotationDriftedBy] = a.DriftedBy
	}
	if a.Prior != nil {
		data, err := restorable(a.Prior)
		if err != nil {
			return nil, err
		}
		cm.Data[PriorKey] = data
	}
	if a.Kind == v1alpha1.RevertCreate {
		data, err := restorable(a.Desired)
		if err != nil {
			return nil, err
		}
		cm.Data[CreatedKey] = data
	}
	return cm, nil
}

// entryName is the same for the same revert of the same drifted state (baseline,
// action, object, prior resourceVersion): an attempt cut short by a crash and retried
// after a restart finds its entry instead of writing a second one.
func entryName(rb *v1alpha1.RoleBaseline, a *Action) string {
	prior := "absent"
	if a.Prior != nil {
		prior = string(a.Prior.GetUID()) + "/" + a.Prior.GetResourceVersion()
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{string(rb.UID), string(a.Kind), a.Ref.String(), prior}, "\x00")))
	return entryPrefix(rb.Name) + hex.EncodeToString(sum[:6])
}

// entryPrefix keeps generated names within 253 characters and valid.
func entryPrefix(baseline string) string {
	name := strings.ReplaceAll(strings.ToLower(baseline), ":", "-")
	if len(name) > 200 {
		name = name[:200]
	}
	return "rbl-journal-" + name + "-"
}

// restorable renders an object as JSON that kubectl create or replace accepts: type
// meta set, server-populated metadata removed.
func restorable(obj client.Object) (string, error) {
	c := obj.DeepCopyObject().(client.Object)
	c.SetResourceVersion("")
	c.SetUID("")
	c.SetCreationTimestamp(metav1.Time{})
	c.SetManagedFields(nil)
	c.SetGeneration(0)
	c.GetObjectKind().SetGroupVersionKind(gvkOf(c))
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("recording the prior state of %s: %w", c.GetName(), err)
	}
	return string(data), nil
}

func gvkOf(obj client.Object) schema.GroupVersionKind {
	ref, _ := drift.RefOf(obj)
	return rbacv1.SchemeGroupVersion.WithKind(ref.Kind)
}

// prune deletes the oldest journal entries of a baseline beyond limit.
func prune(ctx context.Context, r client.Reader, c client.Writer, rb *v1alpha1.RoleBaseline, namespace string, limit int) error {
	var list corev1.ConfigMapList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{JournalLabel: string(rb.UID)}); err != nil {
		return err
	}
	if len(list.Items) <= limit {
		return nil
	}
	slices.SortFunc(list.Items, func(a, b corev1.ConfigMap) int {
		if c := strings.Compare(a.Annotations[AnnotationTime], b.Annotations[AnnotationTime]); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i := range list.Items[:len(list.Items)-limit] {
		if err := c.Delete(ctx, &list.Items[i], client.Preconditions{UID: &list.Items[i].UID}); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}
