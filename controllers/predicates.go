package controllers

import (
	"maps"

	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// labelsOrLifecycleChanged passes Namespace creates and deletes and the updates that
// change labels: the only namespace changes a scope's answer depends on.
type labelsOrLifecycleChanged struct{ predicate.Funcs }

func (labelsOrLifecycleChanged) Update(e event.UpdateEvent) bool {
	return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
}
