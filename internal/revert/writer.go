package revert

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldManager is the field manager of every write the operator makes, so its own
// writes can be told from the drift it reverts.
const FieldManager = "rbac-guardrails"

// WriterKind says who drifted an object, as far as the operator can tell. Only a
// Controller is ever backed off from: a person or an unknown writer who repeats a
// change is reverted every time.
type WriterKind string

const (
	// WriterController is another controller: named by an authenticated
	// ServiceAccount or control-plane identity in the audit log, or, without one, by
	// a field manager listed as a controller's.
	WriterController WriterKind = "Controller"
	// WriterPerson is a human: an audited user that is not a ServiceAccount or a
	// control-plane component, or a kubectl field manager.
	WriterPerson WriterKind = "Person"
	// WriterUnknown is anyone else: a script, an unlisted program, a delete without
	// an audit event.
	WriterUnknown WriterKind = "Unknown"
)

// Writer is who last changed an object.
type Writer struct {
	// Manager is the field manager of the newest write that was not the operator's.
	Manager string
	// User is the authenticated user from the audit log; "" when unknown.
	User string
	Kind WriterKind
}

// String names the writer for conditions, events and logs.
func (w Writer) String() string {
	var parts []string
	if w.User != "" {
		parts = append(parts, "user "+w.User)
	}
	if w.Manager != "" {
		parts = append(parts, "field manager "+w.Manager)
	}
	if len(parts) == 0 {
		return "an unknown writer"
	}
	return strings.Join(parts, ", ")
}

// LastManager is the field manager of the newest managedFields entry that is not
// the operator's own ("" when there is none). Entries are timed to the second; among
// equals the later one in the list wins, as the API server appends.
func LastManager(entries []metav1.ManagedFieldsEntry) string {
	var best *metav1.ManagedFieldsEntry
	for i := range entries {
		e := &entries[i]
		if e.Manager == FieldManager || e.Time == nil {
			continue
		}
		if best == nil || !e.Time.Before(best.Time) {
			best = e
		}
	}
	if best == nil {
		return ""
	}
	return best.Manager
}

// ClassifyWriter decides the writer's kind from its field manager, its audited user
// ("" if unknown) and the field managers the operator's flags name as controllers.
// The audited identity wins over a field manager, which any client may pick.
func ClassifyWriter(manager, user string, controllers []string) Writer {
	w := Writer{Manager: manager, User: user, Kind: WriterUnknown}
	switch {
	case isKubectl(manager):
		w.Kind = WriterPerson
	case user != "" && isControlPlaneUser(user):
		w.Kind = WriterController
	case user != "":
		w.Kind = WriterPerson
	case manager != "" && slices.Contains(controllers, manager):
		w.Kind = WriterController
	}
	return w
}

// isKubectl: kubectl names its field managers kubectl, kubectl-edit, kubectl-patch,
// kubectl-client-side-apply...; a person is at the keyboard.
func isKubectl(manager string) bool {
	return manager == "kubectl" || strings.HasPrefix(manager, "kubectl-")
}

// isControlPlaneUser: ServiceAccounts and the control plane's own identities.
func isControlPlaneUser(user string) bool {
	switch {
	case strings.HasPrefix(user, "system:serviceaccount:"), strings.HasPrefix(user, "system:node:"):
		return true
	}
	switch user {
	case "system:kube-controller-manager", "system:kube-scheduler", "system:apiserver":
		return true
	}
	return false
}

// TrimManagedFields keeps the two newest managedFields entries without their field
// sets, in their original order: enough for LastManager to give the same answer (one
// of the two may be the operator's own), at a fraction of the memory. Objects so
// trimmed must not be written back with their managedFields.
func TrimManagedFields(entries []metav1.ManagedFieldsEntry) []metav1.ManagedFieldsEntry {
	if len(entries) == 0 {
		return nil
	}
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	// Newest first; among equal times the later entry first, as LastManager picks.
	slices.SortFunc(idx, func(a, b int) int {
		ta, tb := entries[a].Time, entries[b].Time
		switch {
		case ta == nil && tb != nil:
			return 1
		case tb == nil && ta != nil:
			return -1
		case ta != nil && tb != nil && !ta.Equal(tb):
			return tb.Compare(ta.Time)
		}
		return b - a
	})
	keep := idx[:min(2, len(idx))]
	slices.Sort(keep)
	out := make([]metav1.ManagedFieldsEntry, 0, len(keep))
	for _, i := range keep {
		e := entries[i]
		out = append(out, metav1.ManagedFieldsEntry{Manager: e.Manager, Operation: e.Operation, Time: e.Time, APIVersion: e.APIVersion})
	}
	return out
}
