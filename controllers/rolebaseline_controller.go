package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/enforce"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// RoleBaselineReconciler reports the drift of the live RBAC from each RoleBaseline in
// its status, in events and in metrics. It reads the registry's evaluators and the
// Enforcer's outcomes and is the only writer of status.
type RoleBaselineReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Registry *registry.Registry
	Enforcer *enforce.Enforcer
	// StatusFindings caps status.findings, the most severe first (0: DefaultStatusFindings,
	// at most MaxStatusFindings); status.findingsOmitted counts the rest.
	StatusFindings int
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Audit, when set, names who changed the objects of findings and supplies usage
	// data for UnusedPermission findings (attribution.go, usage.go).
	Audit *AuditSources

	memory memories
}

// SetupWithManager registers the controller: RoleBaselines are reconciled when they
// appear, go, or change spec, and whenever the registry or the Enforcer has news.
func (r *RoleBaselineReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.StatusFindings <= 0 {
		r.StatusFindings = DefaultStatusFindings
	}
	if r.StatusFindings > MaxStatusFindings {
		return fmt.Errorf("status findings limit %d is above the CRD's maximum of %d", r.StatusFindings, MaxStatusFindings)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.RoleBaseline{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(registry.Source(r.Registry, func(c registry.Change) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: c.Baseline}}}
		})).
		// The Enforce controller asks for its results to be reported.
		WatchesRawSource(source.Channel(r.Enforcer.Results(), &handler.EnqueueRequestForObject{})).
		Named("rolebaseline")
	if err := r.watchAudit(mgr, b); err != nil {
		return err
	}
	return b.Complete(r)
}

// Reconcile writes one baseline's status once, from a deferred patch: whatever the
// pass computed is written even when it ends in an error, and a failed write changes
// no memory, so the retry recomputes and writes the same.
func (r *RoleBaselineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	log := ctrl.LoggerFrom(ctx)
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
	mem := r.memory.of(rb)
	if wait := mem.hold(rb, r.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if wait := r.awaitUsage(); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if mem.written != nil {
		rb.Status = *mem.written.DeepCopy() // the cache may lag behind the last write
	}
	before := rb.DeepCopy()
	defer func() {
		if !statusChanged(&before.Status, &rb.Status) {
			mem.observed(r.Now())
			return
		}
		now := metav1.NewTime(r.Now())
		rb.Status.LastEvaluationTime = &now
		if perr := r.Status().Patch(ctx, rb, client.MergeFrom(before)); perr != nil {
			err = errors.Join(err, perr)
			return
		}
		mem.wrote(&rb.Status, now.Time)
		log.V(1).Info("Status updated", "drifts", rb.Status.Counts.Drifts, "violations", rb.Status.Counts.Violations)
	}()
	return r.reconcile(ctx, rb, entry, mem)
}

// forget drops what is remembered of a deleted baseline.
func (r *RoleBaselineReconciler) forget(ctx context.Context, name string) {
	if uid, ok := r.memory.forget(name); ok && r.Enforcer.Approvals != nil {
		if err := r.Enforcer.Approvals.Delete(ctx, uid); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Deleting the approval of a deleted baseline; it is keyed by UID and harmless")
		}
	}
	r.Enforcer.Forget(name)
	forgetBaseline(name)
	ctrl.LoggerFrom(ctx).V(1).Info("Baseline deleted; forgot its state")
}

// reconcile fills rb.Status from the baseline's evaluator and the Enforcer's outcomes.
func (r *RoleBaselineReconciler) reconcile(ctx context.Context, rb *v1alpha1.RoleBaseline, entry *registry.Entry, mem *memory) (ctrl.Result, error) {
	now := r.Now()
	if entry.Err != nil {
		if entry.Stale {
			r.setNotReady(rb, v1alpha1.ReasonEvaluationFailed, "Reading the live RBAC: "+entry.Err.Error())
			return ctrl.Result{}, nil // the registry retries the load and announces it
		}
		if c := meta.FindStatusCondition(rb.Status.Conditions, v1alpha1.ConditionReady); c == nil ||
			c.Reason != v1alpha1.ReasonInvalidSpec || c.ObservedGeneration != rb.Generation {
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonInvalidSpec, "Evaluate", "%s", entry.Err.Error())
		}
		r.setNotReady(rb, v1alpha1.ReasonInvalidSpec, entry.Err.Error())
		return ctrl.Result{}, nil
	}

	var (
		top      []v1alpha1.Finding
		omitted  int32
		counts   v1alpha1.FindingCounts
		fresh    []drift.Finding
		resolved []findingKey
		all      []drift.Finding // only when needed: it copies every finding
	)
	entry.Read(func(ev *drift.Evaluator) {
		top, omitted = ev.Top(r.StatusFindings)
		counts = ev.Counts()
		added, removed, full, since := entry.TakeChanges(ev)
		mem.changed(since)
		if full || !mem.seeded {
			all = ev.Findings()
			prior := mem.reported.times()
			if !mem.seeded {
				prior, mem.seeded = seedReported(&rb.Status, all, counts), true
			}
			mem.reported, fresh, resolved = rebuild(prior, all, now)
		} else {
			fresh, resolved = mem.reported.apply(added, removed, now)
		}
		if rb.Spec.Mode == v1alpha1.ModeEnforce && rb.Spec.Enforcement.DryRun && all == nil {
			all = ev.Findings()
		}
	})
	prev := rb.Status.Findings
	rb.Status = desiredStatus(rb, top, omitted, counts, mem.reported.firstSeen, now)
	meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionStalled) // evaluated: progressing
	r.attribute(ctx, rb, prev)
	summaryIn := r.emitEvents(ctx, rb, mem, fresh, resolved)
	recordFindings(rb.Name, counts)

	var res ctrl.Result
	if summaryIn > 0 {
		res.RequeueAfter = summaryIn
	}
	es := r.Enforcer.State(rb)
	switch {
	case rb.Spec.Mode != v1alpha1.ModeEnforce:
		return res, r.Enforcer.ReportRelaxed(ctx, rb, es, entry.EffectHash)
	case rb.Spec.Enforcement.DryRun:
		r.Enforcer.ReportDryRun(ctx, rb, es, all)
	default:
		ok, _, err := r.Enforcer.Approved(ctx, rb, es, entry.EffectHash)
		if err != nil {
			return res, err
		}
		if !ok {
			// Degrade to Audit: a spec nobody entitled submitted is never enforced.
			r.Enforcer.ReportNotApproved(rb, es, entry.EffectHash)
			res.RequeueAfter = minPositive(res.RequeueAfter, enforce.ApprovalRecheck)
			break
		}
		es.Report(rb, now)
		// Clear RevertLoopDetected once the fight has been quiet for a window.
		res.RequeueAfter = minPositive(res.RequeueAfter, es.FightsEndIn(now))
	}
	return res, nil
}

func (r *RoleBaselineReconciler) setNotReady(rb *v1alpha1.RoleBaseline, reason, msg string) {
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: text.Note(msg), ObservedGeneration: rb.Generation})
	if reason == v1alpha1.ReasonInvalidSpec {
		meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
			Reason: reason, Message: text.Note("The spec cannot be used until it is changed: " + msg), ObservedGeneration: rb.Generation})
	} else {
		meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionStalled)
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionInSync, Status: metav1.ConditionUnknown,
		Reason: v1alpha1.ReasonPending, Message: "The baseline could not be evaluated; see the Ready condition", ObservedGeneration: rb.Generation})
	rb.Status.ObservedGeneration = rb.Generation
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
