package drift

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

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
	mark := e.list.mark()
	e.list.changed = false
	e.rec.entries, e.rec.previewing = e.rec.entries[:0], true
	if deleted {
		e.delete(ref)
	} else {
		e.proposed = proposed
		e.put(&e.proposed)
	}
	e.settleEscalations()
	introduced := difference(e.list.pendingAdd, e.list.pendingDel)
	// The undo restores every input, so each object re-checked by the change gets back
	// the very findings it had: no need to check it again, and the findings that left
	// and came back need no change to the sorted list (half a fan-out's cost).
	e.rec.previewing, e.rec.restoring = false, true
	if current != nil {
		e.put(current)
	} else {
		e.delete(ref)
	}
	e.rec.restoring = false
	e.settleEscalations()
	e.proposed = entry{}
	clear(e.rec.entries)
	e.rec.index = nil
	e.resetArena()
	e.list.flush() // drops what left and came back
	e.list.changed = false
	e.list.rewind(mark)
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
