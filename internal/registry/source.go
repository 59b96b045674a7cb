package registry

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Source is a controller watch source of the registry's changes: each change is
// mapped to the requests it concerns and added to the controller's queue. It
// subscribes when the controller starts (on the leader) and ends with it.
func Source[R comparable](r *Registry, requests func(Change) []R) source.TypedSource[R] {
	return source.TypedFunc[R](func(ctx context.Context, q workqueue.TypedRateLimitingInterface[R]) error {
		cancel := r.Subscribe(func(c Change) {
			for _, req := range requests(c) {
				q.Add(req)
			}
		})
		context.AfterFunc(ctx, cancel)
		return nil
	})
}
