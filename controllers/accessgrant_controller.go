package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/grants"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=accessgrants,verbs=get;list;watch
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=accessgrants/status,verbs=get;update;patch
// Bindings are owned by their grant (blockOwnerDeletion needs finalizers).
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=accessgrants/finalizers,verbs=update

// GrantWorkers is how many grants are reconciled at once.
const GrantWorkers = 8

// GrantLabel marks a binding an AccessGrant created; its value is the grant's name.
const GrantLabel = "guardrails.rbac-guardrails.io/access-grant"

// AccessGrantReconciler moves each AccessGrant through its life (grants.Next) and
// keeps its bindings to match: created while it is active, removed when it ends, each
// write journaled as Enforce mode's are. The bindings are owned by the grant, so
// deleting it removes them and Enforce mode leaves them alone.
type AccessGrantReconciler struct {
	Client client.Client
	// Reader reads uncached (the journal's ConfigMaps).
	Reader           client.Reader
	Recorder         events.EventRecorder
	JournalNamespace string
	Now              func() time.Time
}

// SetupWithManager registers the controller; it runs on the leader only.
func (r *AccessGrantReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := registerActiveGrants(mgr.GetCache()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("accessgrant").
		// Expiries cluster (a shift's grants end together) and each is three writes:
		// several at once keep removal within a second of expiry.
		WithOptions(controller.Options{MaxConcurrentReconciles: GrantWorkers}).
		For(&v1alpha1.AccessGrant{}).
		Owns(&rbacv1.RoleBinding{}).Owns(&rbacv1.ClusterRoleBinding{}).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *AccessGrantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	g := &v1alpha1.AccessGrant{}
	if err := r.Client.Get(ctx, req.NamespacedName, g); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err) // deleted: its bindings go with it
	}
	now := r.Now()
	rb := &v1alpha1.RoleBaseline{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: g.Spec.Baseline}, rb); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		rb = nil
	}
	rule := r.rule(ctx, rb, g)
	plan := grants.Next(g, rule, now)
	log.FromContext(ctx).V(1).Info("Planned the grant", "state", plan.State, "step", plan.Step, "reason", plan.Reason)
	before := g.Status.State
	st := g.Status.DeepCopy()
	switch plan.Step {
	case grants.Activate:
		bindings, err := r.activate(ctx, rb, g, now)
		if err != nil {
			return ctrl.Result{}, err
		}
		st.Bindings = bindings
		if st.ActivatedAt == nil {
			st.ActivatedAt = ptr.To(metav1.NewTime(now))
			st.ExpiresAt = ptr.To(metav1.NewTime(now.Add(g.Spec.Duration.Duration)))
		}
	case grants.Remove:
		if err := r.remove(ctx, rb, g, now); err != nil {
			return ctrl.Result{}, err
		}
		if st.EndedAt == nil && st.ActivatedAt != nil {
			st.EndedAt = ptr.To(metav1.NewTime(now))
		}
		st.Bindings = nil
	}
	st.State, st.ObservedGeneration = plan.State, g.Generation
	st.Subject = guardrails.DescribeSubject(grants.SubjectOf(&g.Spec, g.Spec.Requester))
	if rule != nil {
		st.Policy = rule.Name
	}
	ready := metav1.ConditionTrue
	if plan.State != v1alpha1.GrantActive {
		ready = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: ready, Reason: string(plan.State),
		Message: plan.Reason, ObservedGeneration: g.Generation})
	if !equality.Semantic.DeepEqual(&g.Status, st) {
		g.Status = *st
		if err := r.Client.Status().Update(ctx, g); err != nil {
			return ctrl.Result{}, err
		}
	}
	if before != plan.State {
		observeTransition(g, &g.Status)
		r.Recorder.Eventf(g, nil, corev1.EventTypeNormal, string(plan.State), "Grant", "%s", plan.Reason)
	}
	return ctrl.Result{RequeueAfter: plan.Again}, nil
}

// rule is the policy rule that allows g now, or nil.
func (r *AccessGrantReconciler) rule(ctx context.Context, rb *v1alpha1.RoleBaseline, g *v1alpha1.AccessGrant) *v1alpha1.GrantPolicy {
	if rb == nil {
		return nil
	}
	scope, err := drift.CompileScope(&rb.Spec)
	if err != nil {
		return nil
	}
	inScope := func(ns string) bool {
		n := &corev1.Namespace{}
		return r.Client.Get(ctx, client.ObjectKey{Name: ns}, n) == nil && scope.SelectsNamespace(ns, n.Labels)
	}
	rule, err := grants.Match(rb.Name, rb.Spec.Grants, grants.Request{Spec: &g.Spec, Requester: g.Spec.Requester,
		Groups: g.Spec.RequesterGroups, InScope: inScope})
	if err != nil {
		return nil
	}
	return rule
}

// bindingsOf are the bindings g gives: a RoleBinding per namespace, or one
// ClusterRoleBinding, named after the grant, owned by it.
func bindingsOf(g *v1alpha1.AccessGrant) []client.Object {
	om := func(ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "access-grant-" + g.Name, Namespace: ns, Labels: map[string]string{GrantLabel: g.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(g, v1alpha1.GroupVersion.WithKind("AccessGrant"))}}
	}
	subject := grants.SubjectOf(&g.Spec, g.Spec.Requester)
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: string(g.Spec.Role.Kind), Name: g.Spec.Role.Name}
	if len(g.Spec.Namespaces) == 0 {
		return []client.Object{&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: drift.KindClusterRoleBinding},
			ObjectMeta: om(""), RoleRef: ref, Subjects: []rbacv1.Subject{subject}}}
	}
	var out []client.Object
	for _, ns := range g.Spec.Namespaces {
		out = append(out, &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: drift.KindRoleBinding},
			ObjectMeta: om(ns), RoleRef: ref, Subjects: []rbacv1.Subject{subject}})
	}
	return out
}

func grantBinding(obj client.Object) v1alpha1.GrantBinding {
	ref, _ := drift.RefOf(obj)
	return v1alpha1.GrantBinding{Kind: v1alpha1.BindingKind(ref.Kind), Namespace: ref.Namespace, Name: ref.Name}
}

// activate creates the bindings that are missing, journaled.
func (r *AccessGrantReconciler) activate(ctx context.Context, rb *v1alpha1.RoleBaseline, g *v1alpha1.AccessGrant, now time.Time) ([]v1alpha1.GrantBinding, error) {
	var out []v1alpha1.GrantBinding
	for _, want := range bindingsOf(g) {
		out = append(out, grantBinding(want))
		live := want.DeepCopyObject().(client.Object)
		err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), live)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		if err := r.write(ctx, rb, &revert.Action{Kind: v1alpha1.RevertCreate, Ref: refOf(want), Desired: want,
			DriftedBy: "AccessGrant " + g.Name}, now); client.IgnoreAlreadyExists(err) != nil {
			return nil, fmt.Errorf("creating %s for AccessGrant %s: %w", refOf(want), g.Name, err)
		}
	}
	return out, nil
}

// remove deletes the grant's bindings that exist, journaled.
func (r *AccessGrantReconciler) remove(ctx context.Context, rb *v1alpha1.RoleBaseline, g *v1alpha1.AccessGrant, now time.Time) error {
	for _, want := range bindingsOf(g) {
		live := want.DeepCopyObject().(client.Object)
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), live); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if !slices.ContainsFunc(live.GetOwnerReferences(), func(o metav1.OwnerReference) bool { return o.UID == g.UID }) &&
			live.GetLabels()[GrantLabel] != g.Name {
			continue // not the grant's: someone else's object of the same name
		}
		if err := r.write(ctx, rb, &revert.Action{Kind: v1alpha1.RevertDelete, Ref: refOf(live), Prior: live,
			DriftedBy: "AccessGrant " + g.Name}, now); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("removing %s of AccessGrant %s: %w", refOf(live), g.Name, err)
		}
	}
	return nil
}

// write journals then performs a, in the baseline's journal; without the baseline
// (deleted since) there is no journal to write to, and the write goes ahead.
func (r *AccessGrantReconciler) write(ctx context.Context, rb *v1alpha1.RoleBaseline, a *revert.Action, now time.Time) error {
	if rb == nil {
		if a.Kind == v1alpha1.RevertDelete {
			return r.Client.Delete(ctx, a.Prior, client.Preconditions{UID: ptr.To(a.Prior.GetUID())})
		}
		return r.Client.Create(ctx, a.Desired.DeepCopyObject().(client.Object))
	}
	applier := revert.Applier{Client: r.Client, Reader: r.Reader, Namespace: r.JournalNamespace}
	_, err := applier.Apply(ctx, rb, a, now)
	return err
}

func refOf(obj client.Object) drift.ObjectRef {
	ref, _ := drift.RefOf(obj)
	return ref
}
