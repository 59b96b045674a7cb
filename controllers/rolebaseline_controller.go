package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// RoleBaselineReconciler reports the drift of the live RBAC from each RoleBaseline in
// its status, in events and in metrics.
type RoleBaselineReconciler struct {
	client.Client
	// APIReader reads uncached: journal entries are listed without caching ConfigMaps.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// JournalNamespace holds the journal ConfigMaps of Enforce mode.
	JournalNamespace string
	// ResyncPeriod is how often a baseline is re-evaluated from a fresh snapshot as a
	// safety net; watch events keep it current in between. Jittered by 10%.
	ResyncPeriod time.Duration
	// StatusFindings caps status.findings, the most severe first (0: DefaultStatusFindings,
	// at most MaxStatusFindings); status.findingsOmitted counts the rest.
	StatusFindings int
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Audit, when set, names who changed the objects of findings and supplies usage
	// data for UnusedPermission findings (attribution.go, usage.go).
	Audit *AuditSources
	// Throttle is the operator-wide revert budget (nil: DefaultRevertQPS).
	Throttle *revert.Throttle
	// ControllerFieldManagers are the field managers taken for other controllers when
	// the audit log does not name the writer: only those are backed off from in a fight.
	// nil means DefaultControllerFieldManagers; an empty slice names none.
	ControllerFieldManagers []string

	// Approvals, when set, must approve an Enforce baseline's effects before the
	// operator writes anything for it (the admission webhook records them).
	Approvals *approval.Store

	// revertClient writes reverts and journal entries as revert.FieldManager.
	revertClient client.Client

	hub      *hub
	reverter *reverter
	// written remembers the status last written for each baseline: the informer cache
	// can lag behind the operator's own status patches, and a status computed against a
	// stale copy would be judged unchanged and never written.
	written writtenStatuses
}

// writtenStatuses is the status each baseline had after the operator's last write,
// keyed by name and checked by UID (a recreated baseline starts afresh). The operator
// is the only writer of status (one leader), so this is what the server holds.
type writtenStatuses struct {
	mu sync.Mutex
	m  map[string]writtenStatus
}

type writtenStatus struct {
	uid    types.UID
	status *v1alpha1.RoleBaselineStatus
}

func (w *writtenStatuses) get(rb *v1alpha1.RoleBaseline) *v1alpha1.RoleBaselineStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ws, ok := w.m[rb.Name]; ok && ws.uid == rb.UID {
		return ws.status.DeepCopy()
	}
	return nil
}

func (w *writtenStatuses) set(rb *v1alpha1.RoleBaseline) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]writtenStatus{}
	}
	w.m[rb.Name] = writtenStatus{uid: rb.UID, status: rb.Status.DeepCopy()}
}

func (w *writtenStatuses) forget(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, name)
}

// SetupWithManager registers the controller: RoleBaselines are reconciled on spec
// changes, and RBAC objects and Namespaces are fed to the baselines they concern.
func (r *RoleBaselineReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.ResyncPeriod <= 0 {
		r.ResyncPeriod = 10 * time.Minute
	}
	if r.StatusFindings <= 0 {
		r.StatusFindings = DefaultStatusFindings
	}
	if r.StatusFindings > MaxStatusFindings {
		return fmt.Errorf("status findings limit %d is above the CRD's maximum of %d", r.StatusFindings, MaxStatusFindings)
	}
	if r.ControllerFieldManagers == nil {
		r.ControllerFieldManagers = DefaultControllerFieldManagers
	}
	if r.Throttle == nil {
		r.Throttle = revert.NewThrottle(DefaultRevertQPS, DefaultRevertBurst)
	}
	r.revertClient = client.WithFieldOwner(r.Client, revert.FieldManager)
	r.reverter = newReverter(r, mgr.GetLogger().WithName("revert"), r.Throttle)
	observeThrottle(r.Throttle)
	if err := mgr.Add(r.reverter); err != nil {
		return err
	}
	r.hub = newHub(r.reverter.changed, r.namespaceObjects(mgr))
	h := r.hub.eventHandler(r.Now)
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.RoleBaseline{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&rbacv1.Role{}, h).
		Watches(&rbacv1.ClusterRole{}, h).
		Watches(&rbacv1.RoleBinding{}, h).
		Watches(&rbacv1.ClusterRoleBinding{}, h).
		Watches(&corev1.Namespace{}, h, builder.WithPredicates(labelsOrLifecycleChanged{})).
		// The revert workers ask for their results to be reported.
		WatchesRawSource(source.Channel(r.reverter.notify, &handler.EnqueueRequestForObject{})).
		Named("rolebaseline")
	if err := r.watchAudit(mgr, b); err != nil {
		return err
	}
	return b.Complete(r)
}

// Reconcile evaluates one baseline and writes its status once.
func (r *RoleBaselineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	reconcilesTotal.WithLabelValues(req.Name).Inc()

	rb := &v1alpha1.RoleBaseline{}
	if err := r.Get(ctx, req.NamespacedName, rb); err != nil {
		if apierrors.IsNotFound(err) {
			if st := r.hub.get(req.Name); st != nil && r.Approvals != nil {
				if err := r.Approvals.Delete(ctx, st.baseline.UID); err != nil {
					log.Error(err, "Deleting the approval of a deleted baseline; it is keyed by UID and harmless")
				}
			}
			r.hub.remove(req.Name)
			r.written.forget(req.Name)
			forgetBaseline(req.Name)
			log.V(1).Info("Baseline deleted; forgot its state")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if wait := r.hub.holdStatus(rb, r.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if known := r.written.get(rb); known != nil {
		rb.Status = *known
	}
	before := rb.DeepCopy()

	p, err := r.reconcile(ctx, rb)

	if statusChanged(&before.Status, &rb.Status) {
		now := metav1.NewTime(r.Now())
		rb.Status.LastEvaluationTime = &now
		if perr := r.Status().Patch(ctx, rb, client.MergeFrom(before)); perr != nil {
			r.hub.unobserved(rb.Name, p.changedAt)
			if p.enforce != nil {
				p.enforce.unreport(p.journal)
			}
			return ctrl.Result{}, errors.Join(err, perr)
		}
		r.written.set(rb)
		r.hub.statusWritten(rb.Name, now.Time)
		log.V(1).Info("Status updated", "drifts", rb.Status.Counts.Drifts, "violations", rb.Status.Counts.Violations)
	}
	if !p.changedAt.IsZero() {
		detectionSeconds.Observe(r.Now().Sub(p.changedAt).Seconds())
	}
	return p.result, err
}

// pass is what one reconcile did, for the status write that follows it.
type pass struct {
	result ctrl.Result
	// changedAt is when the oldest change it reflects was observed (zero when none).
	changedAt time.Time
	// journal are revert records it moved into status, and enforce their owner.
	journal []v1alpha1.JournalRecord
	enforce *enforceState
}

// reconcile refreshes the baseline's evaluator when needed and fills rb.Status.
func (r *RoleBaselineReconciler) reconcile(ctx context.Context, rb *v1alpha1.RoleBaseline) (pass, error) {
	now := r.Now()
	st := r.hub.get(rb.Name)
	loaded := false
	if st == nil || st.baseline.UID != rb.UID || st.baseline.Generation != rb.Generation || now.Sub(st.loadedAt) >= r.ResyncPeriod {
		eval, err := drift.NewEvaluator(&rb.Spec, r.usage(ctx))
		if err != nil {
			r.setNotReady(rb, v1alpha1.ReasonInvalidSpec, err.Error())
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1alpha1.ReasonInvalidSpec, "Evaluate", "%s", err.Error())
			return pass{}, reconcile.TerminalError(err)
		}
		start := time.Now()
		st, err = r.hub.load(rb, eval, func() (*drift.Snapshot, error) { return r.snapshot(ctx) }, now)
		if err != nil {
			r.setNotReady(rb, v1alpha1.ReasonEvaluationFailed, "Reading the live RBAC: "+err.Error())
			return pass{}, err
		}
		evaluationSeconds.WithLabelValues("full").Observe(time.Since(start).Seconds())
		loaded = true
	}

	st.mu.Lock()
	top, omitted := st.eval.Top(r.StatusFindings)
	counts := st.eval.Counts()
	changedAt := st.changedAt
	st.changedAt = time.Time{}
	var (
		fresh    []drift.Finding
		resolved []findingKey
		all      []drift.Finding // only when needed: it copies every finding
	)
	if added, removed, full := st.eval.Changes(); full || !st.seeded {
		all = st.eval.Findings()
		prior := st.reported.times()
		if !st.seeded {
			prior, st.seeded = seedReported(&rb.Status, all, counts), true
		}
		st.reported, fresh, resolved = rebuild(prior, all, now)
	} else {
		fresh, resolved = st.reported.apply(added, removed, now)
	}
	if rb.Spec.Mode == v1alpha1.ModeEnforce && rb.Spec.Enforcement.DryRun && all == nil {
		all = st.eval.Findings()
	}
	prev := rb.Status.Findings
	rb.Status = desiredStatus(rb, top, omitted, counts, st.reported.firstSeen, now)
	meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionStalled) // evaluated: progressing
	r.attribute(ctx, rb, prev)
	summaryIn := r.emitEvents(ctx, rb, st, fresh, resolved)
	st.mu.Unlock()

	recordFindings(rb.Name, counts)

	requeue := wait.Jitter(r.ResyncPeriod, 0.1)
	if summaryIn > 0 {
		requeue = min(requeue, summaryIn)
	}
	p := pass{result: ctrl.Result{RequeueAfter: requeue}, changedAt: changedAt}
	switch {
	case rb.Spec.Mode != v1alpha1.ModeEnforce:
		by, approver, err := r.relaxedBy(ctx, rb, st.enforce, st.effectHash)
		if err != nil {
			return p, err
		}
		reportRelaxed(rb, by, approver)
	case rb.Spec.Enforcement.DryRun:
		actions, _ := revert.Plan(&rb.Spec, all, func(ref drift.ObjectRef) client.Object {
			return r.cachedObject(ctx, ref, client.UnsafeDisableDeepCopy)
		})
		r.reportDryRun(rb, st.enforce, actions)
	default:
		ok, fresh, err := r.approved(ctx, rb, st.enforce, st.effectHash)
		if err != nil {
			return p, err
		}
		if !ok {
			// Degrade to Audit: a spec nobody entitled submitted is never enforced.
			r.reportNotApproved(rb, st.enforce, st.effectHash)
			p.result.RequeueAfter = min(p.result.RequeueAfter, approvalRecheck)
			break
		}
		// The revert workers act on watch events; a fresh load or approval replans everything.
		if loaded || fresh {
			r.reverter.queue.Add(revertItem{baseline: rb.Name})
		}
		p.journal, p.enforce = st.enforce.report(rb, now), st.enforce
		if end := st.enforce.fightsEndIn(now); end > 0 {
			// Clear RevertLoopDetected once the fight has been quiet for a window.
			p.result.RequeueAfter = min(p.result.RequeueAfter, end)
		}
	}
	return p, nil
}

func (r *RoleBaselineReconciler) setNotReady(rb *v1alpha1.RoleBaseline, reason, msg string) {
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: msg, ObservedGeneration: rb.Generation})
	if reason == v1alpha1.ReasonInvalidSpec {
		setStalled(rb, reason, "The spec cannot be used until it is changed: "+msg)
	} else {
		meta.RemoveStatusCondition(&rb.Status.Conditions, v1alpha1.ConditionStalled)
	}
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionInSync, Status: metav1.ConditionUnknown,
		Reason: v1alpha1.ReasonPending, Message: "The baseline could not be evaluated; see the Ready condition", ObservedGeneration: rb.Generation})
	rb.Status.ObservedGeneration = rb.Generation
}

func setStalled(rb *v1alpha1.RoleBaseline, reason, msg string) {
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: reason, Message: note(msg), ObservedGeneration: rb.Generation})
}

// namespaceObjects lists a namespace's Roles and RoleBindings from the cache, without
// deep copies (the engine only reads them).
func (r *RoleBaselineReconciler) namespaceObjects(mgr ctrl.Manager) func(ns string) []client.Object {
	log := mgr.GetLogger().WithName("hub")
	return func(ns string) []client.Object {
		ctx := context.Background()
		var roles rbacv1.RoleList
		var rbs rbacv1.RoleBindingList
		if err := r.List(ctx, &roles, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			log.Error(err, "Listing the Roles of a newly selected namespace; the next resync adds them", "namespace", ns)
		}
		if err := r.List(ctx, &rbs, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			log.Error(err, "Listing the RoleBindings of a newly selected namespace; the next resync adds them", "namespace", ns)
		}
		out := make([]client.Object, 0, len(roles.Items)+len(rbs.Items))
		for i := range roles.Items {
			out = append(out, &roles.Items[i])
		}
		for i := range rbs.Items {
			out = append(out, &rbs.Items[i])
		}
		return out
	}
}

// snapshot lists the live RBAC and Namespaces from the informer cache without deep
// copies: the engine only reads them and cache objects are never modified.
func (r *RoleBaselineReconciler) snapshot(ctx context.Context) (*drift.Snapshot, error) {
	var (
		roles  rbacv1.RoleList
		croles rbacv1.ClusterRoleList
		rbs    rbacv1.RoleBindingList
		crbs   rbacv1.ClusterRoleBindingList
		nss    corev1.NamespaceList
	)
	for _, l := range []client.ObjectList{&roles, &croles, &rbs, &crbs, &nss} {
		if err := r.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
	}
	return &drift.Snapshot{Roles: roles.Items, ClusterRoles: croles.Items, RoleBindings: rbs.Items,
		ClusterRoleBindings: crbs.Items, Namespaces: nss.Items}, nil
}
