package controllers

import (
	"context"
	"errors"
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
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
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
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Audit, when set, names who changed the objects of findings and supplies usage
	// data for UnusedPermission findings (attribution.go, usage.go).
	Audit *AuditSources

	hub *hub
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
	status *v1.RoleBaselineStatus
}

func (w *writtenStatuses) get(rb *v1.RoleBaseline) *v1.RoleBaselineStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ws, ok := w.m[rb.Name]; ok && ws.uid == rb.UID {
		return ws.status.DeepCopy()
	}
	return nil
}

func (w *writtenStatuses) set(rb *v1.RoleBaseline) {
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
	r.hub = newHub()
	h := r.hub.eventHandler(r.Now)
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1.RoleBaseline{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&rbacv1.Role{}, h).
		Watches(&rbacv1.ClusterRole{}, h).
		Watches(&rbacv1.RoleBinding{}, h).
		Watches(&rbacv1.ClusterRoleBinding{}, h).
		Watches(&corev1.Namespace{}, h, builder.WithPredicates(labelsOrLifecycleChanged{})).
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

	rb := &v1.RoleBaseline{}
	if err := r.Get(ctx, req.NamespacedName, rb); err != nil {
		if apierrors.IsNotFound(err) {
			r.hub.remove(req.Name)
			r.written.forget(req.Name)
			forgetBaseline(req.Name)
			log.V(1).Info("Baseline deleted; forgot its state")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if known := r.written.get(rb); known != nil {
		rb.Status = *known
	}
	before := rb.DeepCopy()

	result, changedAt, err := r.reconcile(ctx, rb)

	if statusChanged(&before.Status, &rb.Status) {
		now := metav1.NewTime(r.Now())
		rb.Status.LastEvaluationTime = &now
		if perr := r.Status().Patch(ctx, rb, client.MergeFrom(before)); perr != nil {
			r.hub.unobserved(rb.Name, changedAt)
			return ctrl.Result{}, errors.Join(err, perr)
		}
		r.written.set(rb)
		log.V(1).Info("Status updated", "drifts", rb.Status.Counts.Drifts, "violations", rb.Status.Counts.Violations)
	}
	if !changedAt.IsZero() {
		detectionSeconds.Observe(r.Now().Sub(changedAt).Seconds())
	}
	return result, err
}

// reconcile refreshes the baseline's evaluator when needed and fills rb.Status. It
// returns when the oldest change it reflects was observed (zero when none).
func (r *RoleBaselineReconciler) reconcile(ctx context.Context, rb *v1.RoleBaseline) (ctrl.Result, time.Time, error) {
	now := r.Now()
	st := r.hub.get(rb.Name)
	if st == nil || st.generation != rb.Generation || now.Sub(st.loadedAt) >= r.ResyncPeriod {
		eval, err := drift.NewEvaluator(&rb.Spec, r.usage(ctx))
		if err != nil {
			r.setNotReady(rb, v1.ReasonInvalidSpec, err.Error())
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1.ReasonInvalidSpec, "Evaluate", "%s", err.Error())
			return ctrl.Result{}, time.Time{}, reconcile.TerminalError(err)
		}
		start := time.Now()
		st, err = r.hub.load(rb.Name, rb.Generation, eval, func() (*drift.Snapshot, error) { return r.snapshot(ctx) }, now)
		if err != nil {
			r.setNotReady(rb, v1.ReasonEvaluationFailed, "Reading the live RBAC: "+err.Error())
			return ctrl.Result{}, time.Time{}, err
		}
		evaluationSeconds.WithLabelValues("full").Observe(time.Since(start).Seconds())
	}

	st.mu.Lock()
	all := st.eval.Findings()
	top, omitted := drift.ToAPI(all, maxStatusFindings)
	counts := st.eval.Counts()
	changedAt := st.changedAt
	st.changedAt = time.Time{}
	if !st.seeded {
		st.reported = seedReported(&rb.Status, all, counts)
		st.seeded = true
	}
	prior := st.reported
	current := make(map[findingKey]time.Time, len(all))
	for i := range all {
		k := keyOfDrift(&all[i])
		if t, ok := prior[k]; ok && !t.IsZero() {
			current[k] = t
		} else {
			current[k] = now
		}
	}
	st.reported = current

	prev := rb.Status.Findings
	rb.Status = desiredStatus(rb, top, omitted, counts, current, now)
	r.attribute(ctx, rb, prev)
	summaryIn := r.emitEvents(ctx, rb, st, prior, current, all)
	st.mu.Unlock()

	recordFindings(rb.Name, counts)

	requeue := wait.Jitter(r.ResyncPeriod, 0.1)
	if summaryIn > 0 {
		requeue = min(requeue, summaryIn)
	}
	if rb.Spec.Mode == v1.ModeEnforce {
		if retry := r.enforce(ctx, rb, st.enforce, all, now); retry > 0 {
			requeue = min(requeue, retry)
		}
	} else {
		meta.RemoveStatusCondition(&rb.Status.Conditions, v1.ConditionEnforced)
	}
	return ctrl.Result{RequeueAfter: requeue}, changedAt, nil
}

func (r *RoleBaselineReconciler) setNotReady(rb *v1.RoleBaseline, reason, msg string) {
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: msg, ObservedGeneration: rb.Generation})
	meta.SetStatusCondition(&rb.Status.Conditions, metav1.Condition{Type: v1.ConditionInSync, Status: metav1.ConditionUnknown,
		Reason: v1.ReasonPending, Message: "The baseline could not be evaluated; see the Ready condition", ObservedGeneration: rb.Generation})
	rb.Status.ObservedGeneration = rb.Generation
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

// seedReported rebuilds, after a restart, which findings were already reported, from
// the status this operator wrote before. When the counts still match, everything was
// reported; otherwise only the listed findings were, with their firstSeen.
func seedReported(st *v1.RoleBaselineStatus, all []drift.Finding, counts v1.FindingCounts) map[findingKey]time.Time {
	listed := map[findingKey]time.Time{}
	for i := range st.Findings {
		f := &st.Findings[i]
		var t time.Time
		if f.FirstSeen != nil {
			t = f.FirstSeen.Time
		}
		listed[keyOf(f)] = t
	}
	if st.ObservedGeneration == 0 || st.Counts.Drifts != counts.Drifts || st.Counts.Violations != counts.Violations {
		return listed
	}
	out := make(map[findingKey]time.Time, len(all))
	for i := range all {
		k := keyOfDrift(&all[i])
		out[k] = listed[k] // zero when not listed: reported, first seen unknown
	}
	return out
}

func keyOfDrift(f *drift.Finding) findingKey {
	k := findingKey{typ: f.Type, guardrail: f.Guardrail, object: f.Object}
	if f.Subject != nil {
		k.subject = f.Subject.Kind + "/" + f.Subject.Namespace + "/" + f.Subject.Name
	}
	return k
}
