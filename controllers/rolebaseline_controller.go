package controllers

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

	hub *hub
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
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1.RoleBaseline{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&rbacv1.Role{}, h).
		Watches(&rbacv1.ClusterRole{}, h).
		Watches(&rbacv1.RoleBinding{}, h).
		Watches(&rbacv1.ClusterRoleBinding{}, h).
		Watches(&corev1.Namespace{}, h, builder.WithPredicates(labelsOrLifecycleChanged{})).
		Named("rolebaseline").
		Complete(r)
}

// Reconcile evaluates one baseline and writes its status once.
func (r *RoleBaselineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	reconcilesTotal.WithLabelValues(req.Name).Inc()

	rb := &v1.RoleBaseline{}
	if err := r.Get(ctx, req.NamespacedName, rb); err != nil {
		if apierrors.IsNotFound(err) {
			r.hub.remove(req.Name)
			forgetBaseline(req.Name)
			log.V(1).Info("Baseline deleted; forgot its state")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	before := rb.DeepCopy()

	result, err := r.reconcile(ctx, rb)

	if statusChanged(&before.Status, &rb.Status) {
		now := metav1.NewTime(r.Now())
		rb.Status.LastEvaluationTime = &now
		if perr := r.Status().Patch(ctx, rb, client.MergeFrom(before)); perr != nil {
			return ctrl.Result{}, errors.Join(err, perr)
		}
		log.V(1).Info("Status updated", "drifts", rb.Status.Counts.Drifts, "violations", rb.Status.Counts.Violations)
	}
	return result, err
}

// reconcile refreshes the baseline's evaluator when needed and fills rb.Status.
func (r *RoleBaselineReconciler) reconcile(ctx context.Context, rb *v1.RoleBaseline) (ctrl.Result, error) {
	now := r.Now()
	st := r.hub.get(rb.Name)
	if st == nil || st.generation != rb.Generation || now.Sub(st.loadedAt) >= r.ResyncPeriod {
		eval, err := drift.NewEvaluator(&rb.Spec, nil)
		if err != nil {
			r.setNotReady(rb, v1.ReasonInvalidSpec, err.Error())
			r.Recorder.Eventf(rb, nil, corev1.EventTypeWarning, v1.ReasonInvalidSpec, "Evaluate", "%s", err.Error())
			return ctrl.Result{}, reconcile.TerminalError(err)
		}
		start := time.Now()
		st, err = r.hub.load(rb.Name, rb.Generation, eval, func() (*drift.Snapshot, error) { return r.snapshot(ctx) }, now)
		if err != nil {
			r.setNotReady(rb, v1.ReasonEvaluationFailed, "Reading the live RBAC: "+err.Error())
			return ctrl.Result{}, err
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

	rb.Status = desiredStatus(rb, top, omitted, counts, current, now)
	summaryIn := r.emitEvents(ctx, rb, st, prior, current, all)
	st.mu.Unlock()

	recordFindings(rb.Name, counts)
	if !changedAt.IsZero() {
		detectionSeconds.Observe(now.Sub(changedAt).Seconds())
	}

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
	return ctrl.Result{RequeueAfter: requeue}, nil
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
	k := findingKey{typ: f.Type, guardrail: f.Guardrail,
		object: v1.ObjectReference{Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name}}
	if f.Subject != nil {
		k.subject = f.Subject.Kind + "/" + f.Subject.Namespace + "/" + f.Subject.Name
	}
	return k
}
