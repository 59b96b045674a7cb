package controllers

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/enforce"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/report"
)

var reconcilesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "rbac_guardrails_baseline_reconciles_total",
	Help: "Reconciles of each baseline; an RBAC change outside every scope adds none.",
}, []string{"baseline"})

func init() { metrics.Registry.MustRegister(reconcilesTotal) }

// RoleBaselineReconciler writes each RoleBaseline's status: what the Reporter makes of
// the registry's evaluator, and what the Enforcer did. It is the only status writer.
type RoleBaselineReconciler struct {
	client.Client
	Registry *registry.Registry
	Reporter *report.Reporter
	Enforcer *enforce.Enforcer
}

// SetupWithManager registers the controller: RoleBaselines are reconciled when they
// appear, go, or change spec, and whenever the registry, the Enforcer or the audit
// intake has news.
func (r *RoleBaselineReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if n := r.Reporter.StatusFindings; n > report.MaxStatusFindings {
		return fmt.Errorf("status findings limit %d is above the CRD's maximum of %d", n, report.MaxStatusFindings)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.RoleBaseline{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(registry.Source(r.Registry, func(c registry.Change) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: c.Baseline}}}
		})).
		WatchesRawSource(source.Channel(r.Enforcer.Results(), &handler.EnqueueRequestForObject{})).
		Named("rolebaseline")
	if src, usage := r.Reporter.Sources(); src != nil {
		b = b.WatchesRawSource(src)
		if usage != nil {
			if err := mgr.Add(usage); err != nil {
				return err
			}
		}
	}
	return b.Complete(r)
}

// Reconcile writes one baseline's status once, from a deferred patch: whatever the
// pass computed is written even when it ends in an error, and a failed write changes
// no memory, so the retry recomputes and writes the same.
func (r *RoleBaselineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	reconcilesTotal.WithLabelValues(req.Name).Inc()
	rb := &v1alpha1.RoleBaseline{}
	if err := r.Get(ctx, req.NamespacedName, rb); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(ctx, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	entry := r.Registry.Get(rb.Name)
	if !entry.Current(rb) {
		return ctrl.Result{}, nil // the registry announces the load of this generation
	}
	mem := r.Reporter.Memory(rb)
	if wait := max(mem.Hold(rb, r.Reporter.Now()), r.Reporter.AwaitUsage()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if written := mem.Written(); written != nil {
		rb.Status = *written // the cache may lag behind the last write
	}
	before := rb.DeepCopy()
	defer func() {
		now := r.Reporter.Now()
		if !report.StatusChanged(&before.Status, &rb.Status) {
			mem.Observed(now)
			return
		}
		rb.Status.LastEvaluationTime = &metav1.Time{Time: now}
		if perr := r.Status().Patch(ctx, rb, client.MergeFrom(before)); perr != nil {
			err = errors.Join(err, perr)
			return
		}
		mem.Wrote(&rb.Status, now)
		ctrl.LoggerFrom(ctx).V(1).Info("Status updated", "drifts", rb.Status.Counts.Drifts, "violations", rb.Status.Counts.Violations)
	}()
	if !entry.Usable() {
		r.Reporter.NotEvaluated(rb, entry)
		return ctrl.Result{}, nil // the registry retries a failed read and announces it
	}
	dryRun := rb.Spec.Mode == v1alpha1.ModeEnforce && rb.Spec.Enforcement.DryRun
	summaryIn, all := r.Reporter.Evaluate(ctx, rb, entry, mem, dryRun)
	res.RequeueAfter = summaryIn
	after, err := r.Enforcer.Report(ctx, rb, entry.EffectHash, all)
	res.RequeueAfter = enforce.MinPositive(res.RequeueAfter, after)
	return res, err
}

// forget drops what is remembered of a deleted baseline, and its approval.
func (r *RoleBaselineReconciler) forget(ctx context.Context, name string) {
	uid, known := r.Reporter.Forget(name)
	if known && r.Enforcer.Approvals != nil {
		if err := r.Enforcer.Approvals.Delete(ctx, uid); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Deleting the approval of a deleted baseline; it is keyed by UID and harmless")
		}
	}
	r.Enforcer.Forget(name)
	ctrl.LoggerFrom(ctx).V(1).Info("Baseline deleted; forgot its state")
}
