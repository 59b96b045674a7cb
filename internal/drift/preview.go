package drift

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// RefOf names a live object the Evaluator knows: an RBAC object or a Namespace.
func RefOf(obj runtime.Object) (ObjectRef, bool) {
	switch t := obj.(type) {
	case *rbacv1.Role:
		return ObjectRef{KindRole, t.Namespace, t.Name}, true
	case *rbacv1.ClusterRole:
		return ObjectRef{KindClusterRole, "", t.Name}, true
	case *rbacv1.RoleBinding:
		return ObjectRef{KindRoleBinding, t.Namespace, t.Name}, true
	case *rbacv1.ClusterRoleBinding:
		return ObjectRef{KindClusterRoleBinding, "", t.Name}, true
	case *corev1.Namespace:
		return ObjectRef{KindNamespace, "", t.Name}, true
	}
	return ObjectRef{}, false
}

// Preview returns the findings a change would introduce: those present after
// upserting obj (or deleting it, when deleted is true) and absent now, sorted by
// CompareFindings. A change that only removes drift introduces nothing. The
// Evaluator is left with the same findings as before: the change is applied
// incrementally, diffed, and undone by the inverse Upsert or Delete (the engine's
// state is a function of the object set), so the cost is that of two changes.
// The findings returned may point into obj: do not modify it while they are in use.
func (e *Evaluator) Preview(obj runtime.Object, deleted bool) ([]Finding, error) {
	ref, ok := RefOf(obj)
	if !ok {
		return nil, fmt.Errorf("drift: cannot preview object of type %T", obj)
	}
	if ref.Kind == KindNamespace {
		// A namespace the scope starts selecting needs its objects fed (NeedNamespaces).
		return nil, fmt.Errorf("drift: cannot preview a namespace change")
	}
	proposed, ok := entryOf(obj)
	if !ok {
		return nil, fmt.Errorf("drift: cannot preview object of type %T", obj)
	}
	current := e.objects[ref] // the undo puts this very entry back
	if !e.mayConcern(ref) && !e.feedsAggregate(&proposed) && (current == nil || !e.feedsAggregate(current)) {
		return nil, nil
	}
	// The change and its undo are no change: keep them out of the Changes log.
	nAdded, nRemoved, wasFull := len(e.logAdded), len(e.logRemoved), e.logFull
	e.changed = false
	e.recording, e.previewing = e.recording[:0], true
	if deleted {
		e.delete(ref)
	} else {
		e.proposed = proposed
		e.put(&e.proposed)
	}
	introduced := difference(e.pendingAdd, e.pendingDel)
	// The undo restores every input, so each object re-checked by the change gets back
	// the very findings it had: no need to check it again, and the findings that left
	// and came back need no change to the sorted list (half a fan-out's cost).
	e.previewing, e.restoring = false, true
	if current != nil {
		e.put(current)
	} else {
		e.delete(ref)
	}
	e.proposed = entry{}
	e.restoring = false
	clear(e.recording)
	e.recordIndex = nil
	e.resetArena()
	e.netPending()
	e.flush()
	e.changed = false
	if !wasFull && !e.logFull {
		clear(e.logAdded[nAdded:])
		clear(e.logRemoved[nRemoved:])
		e.logAdded, e.logRemoved = e.logAdded[:nAdded], e.logRemoved[:nRemoved]
	}
	return introduced, nil
}

// maxArena bounds the preview arena an Evaluator keeps between Previews; a wider
// fan-out allocates and lets the garbage collector take it.
const maxArena = 1024

func (e *Evaluator) resetArena() {
	clear(e.arena)
	if cap(e.arena) > maxArena {
		e.arena = nil
	}
	e.arena = e.arena[:0]
}

// mayConcern is false when no change to the object at ref can change the findings,
// so a webhook asking every baseline pays only for those the change concerns: a
// namespaced object outside the selected namespaces is out of scope, and so are the
// bindings that could grant a Role there; a ClusterRoleBinding is out of scope unless
// cluster-scoped objects are; a ClusterRole counts only in scope or when an in-scope
// binding grants it to a ceiling subject (the grant index).
func (e *Evaluator) mayConcern(ref ObjectRef) bool {
	switch ref.Kind {
	case KindRole, KindRoleBinding:
		selected, known := e.nsSelected[ref.Namespace]
		if !known {
			selected = e.scope.SelectsNamespace(ref.Namespace, nil)
		}
		return selected
	case KindClusterRoleBinding:
		return e.scope.clusterScoped
	case KindClusterRole:
		return e.scope.clusterScoped || len(e.grants[ref]) > 0
	}
	return true
}

// feedsAggregate: a ClusterRole an aggregated role selects changes that role's rules.
func (e *Evaluator) feedsAggregate(ent *entry) bool {
	return ent.ref.Kind == KindClusterRole && e.aggr.selected(ent.labels)
}

// netPending drops the findings that both left and came back (by identity) from the
// pending changes: flush expects what leaves to be in the sorted list, and what the
// change added and its undo removed never was.
func (e *Evaluator) netPending() {
	n := make(map[*Finding]int, len(e.pendingAdd))
	for _, f := range e.pendingAdd {
		n[f]++
	}
	del := e.pendingDel[:0]
	for _, f := range e.pendingDel {
		if n[f] > 0 {
			n[f]--
			continue
		}
		del = append(del, f)
	}
	add := e.pendingAdd[:0]
	for _, f := range e.pendingAdd {
		if n[f] > 0 {
			n[f]--
			add = append(add, f)
		}
	}
	clear(e.pendingDel[len(del):])
	clear(e.pendingAdd[len(add):])
	e.pendingDel, e.pendingAdd = del, add
}

// difference returns, as a multiset by value, the findings of add not in del, sorted.
// One change touches few findings, so sorting both sides and merging is cheap.
// It sorts add and del in place: their order means nothing to flush.
func difference(add, del []*Finding) []Finding {
	a, d := add, del
	if len(a) == 0 {
		return nil
	}
	slices.SortFunc(a, CompareFindings)
	slices.SortFunc(d, CompareFindings)
	// Two passes, so the result is allocated once and at its size.
	merge := func(keep func(*Finding)) {
		j := 0
		for _, f := range a {
			for j < len(d) && CompareFindings(d[j], f) < 0 {
				j++
			}
			if j < len(d) && CompareFindings(d[j], f) == 0 {
				j++
				continue
			}
			keep(f)
		}
	}
	n := 0
	merge(func(*Finding) { n++ })
	if n == 0 {
		return nil
	}
	out := make([]Finding, 0, n)
	merge(func(f *Finding) { out = append(out, *f) })
	return out
}

// Spec returns the baseline spec the Evaluator was built from. It is the Evaluator's
// own copy and must not be modified.
func (e *Evaluator) Spec() *v1alpha1.RoleBaselineSpec { return e.spec }

// Object is what NewObject returns: a Kubernetes object with metadata (the shape of
// controller-runtime's client.Object, which the engine does not import).
type Object interface {
	metav1.Object
	runtime.Object
}

// NewObject returns an empty object of an RBAC kind, or nil for any other kind. With
// RefOf it is the one table between kinds and Go types.
func NewObject(kind string) Object {
	switch kind {
	case KindRole:
		return &rbacv1.Role{}
	case KindClusterRole:
		return &rbacv1.ClusterRole{}
	case KindRoleBinding:
		return &rbacv1.RoleBinding{}
	case KindClusterRoleBinding:
		return &rbacv1.ClusterRoleBinding{}
	}
	return nil
}
