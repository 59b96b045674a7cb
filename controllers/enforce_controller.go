package controllers

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/enforce"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// EnforceWorkers is how many reverts run at once. Each revert is two sequential API
// writes (journal, then object), so the workers keep the API server busy while one
// waits; the operator-wide budget, not the worker count, is the limit.
const EnforceWorkers = 8

// Failed reverts are retried from revert.TransientRetry, doubling up to a minute.
const maxRevertRetry = time.Minute

// EnforceRequest asks for one object of one baseline to be put back; a zero Object
// asks for every finding of the baseline.
type EnforceRequest struct {
	Baseline string
	Object   drift.ObjectRef
}

// EnforceReconciler reverts the drift of Enforce baselines as soon as the registry
// sees it: each object whose findings moved is a request, so a revert waits for no
// status write and one busy baseline does not hold up another.
type EnforceReconciler struct {
	Registry *registry.Registry
	Enforcer *enforce.Enforcer
}

// SetupWithManager registers the controller. It runs on the leader only.
func (r *EnforceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	log := mgr.GetLogger().WithName("revert")
	return builder.TypedControllerManagedBy[EnforceRequest](mgr).
		Named("enforce").
		// Every object whose findings moved in an Enforce baseline.
		WatchesRawSource(registry.Source(r.Registry, enforceRequests)).
		// Every baseline when this replica starts leading or a spec changes.
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &v1alpha1.RoleBaseline{},
			handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, rb *v1alpha1.RoleBaseline) []EnforceRequest {
				return []EnforceRequest{{Baseline: rb.Name}}
			}), predicate.TypedGenerationChangedPredicate[*v1alpha1.RoleBaseline]{})).
		// Every baseline just found approved.
		WatchesRawSource(source.TypedChannel(r.Enforcer.ApprovedBaselines(), handler.TypedFuncs[string, EnforceRequest]{
			GenericFunc: func(_ context.Context, e event.TypedGenericEvent[string], q workqueue.TypedRateLimitingInterface[EnforceRequest]) {
				q.Add(EnforceRequest{Baseline: e.Object})
			},
		})).
		WithOptions(controller.TypedOptions[EnforceRequest]{
			MaxConcurrentReconciles: EnforceWorkers,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[EnforceRequest](revert.TransientRetry, maxRevertRetry),
			RecoverPanic:            ptr.To(true),
			// Every revert is equally urgent, so priorities buy nothing; the classic queue
			// keeps less per item when 20,000 objects drift at once.
			UsePriorityQueue: ptr.To(false),
		}).
		WithLogConstructor(func(req *EnforceRequest) logr.Logger {
			if req == nil {
				return log
			}
			return log.WithValues("rolebaseline", req.Baseline, "object", req.Object.String())
		}).
		Complete(r)
}

// enforceRequests maps a registry change to what an Enforce baseline must replan.
func enforceRequests(c registry.Change) []EnforceRequest {
	if c.Spec == nil || !c.Spec.Enforces() {
		return nil
	}
	return []EnforceRequest{{Baseline: c.Baseline, Object: revert.Replan(c.Spec, c.Object)}}
}

// Reconcile reverts what the request names and asks to come back when the guard or
// the budget holds a revert back.
func (r *EnforceReconciler) Reconcile(ctx context.Context, req EnforceRequest) (ctrl.Result, error) {
	entry := r.Registry.Get(req.Baseline)
	if entry == nil {
		return ctrl.Result{}, nil // not loaded yet, or deleted: the status controller forgets it
	}
	if req.Object == (drift.ObjectRef{}) && entry.Baseline.Spec.Enforces() && entry.Usable() {
		// The baseline request looks for an approval the object requests wait for;
		// Revert checks that the entry is still the baseline's current spec.
		rb := entry.Baseline
		ok, _, err := r.Enforcer.Approved(ctx, rb, r.Enforcer.State(rb), entry.EffectHash)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !ok {
			return ctrl.Result{RequeueAfter: enforce.ApprovalRecheck}, nil
		}
	}
	after, err := r.Enforcer.Revert(ctx, entry, req.Object)
	return ctrl.Result{RequeueAfter: after}, err
}
