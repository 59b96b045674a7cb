package informers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// CacheOptions are the informer cache options of the manager, in main and in every
// test: managed fields are most of an RBAC object's size and no check reads their
// field sets, but the revert workers read who wrote an object last, so the two newest
// entries stay, without field sets. Informers retry an unreachable API server at once
// instead of backing off (informer.go).
func CacheOptions() cache.Options {
	return cache.Options{DefaultTransform: trimManagedFields, NewInformer: newInformer}
}

func trimManagedFields(in any) (any, error) {
	if obj, err := meta.Accessor(in); err == nil {
		obj.SetManagedFields(revert.TrimManagedFields(obj.GetManagedFields()))
	}
	return in, nil
}
