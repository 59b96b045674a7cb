package webhook

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// BaselinePath is where the RoleBaseline webhook is served.
const BaselinePath = "/validate-rolebaseline"

// failurePolicy=fail: unlike RBAC writes, a baseline that escalates has no second line
// behind the webhook, and refusing baseline edits while the operator is down is cheap.
// +kubebuilder:webhook:path=/validate-rolebaseline,mutating=false,failurePolicy=fail,sideEffects=None,timeoutSeconds=10,groups=guardrails.rbac-guardrails.io,resources=rolebaselines,verbs=create;update,versions=v1alpha1,name=rolebaseline.guardrails.rbac-guardrails.io,admissionReviewVersions=v1

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// BaselineHandler validates RoleBaselines beyond the schema: an Enforce baseline may
// not claim an object another Enforce baseline already declares, and may not make the
// operator create or bind what its author could not.
type BaselineHandler struct {
	// Client reads baselines, namespaces and roles (from the cache) and creates
	// SubjectAccessReviews.
	Client  client.Client
	Decoder admission.Decoder
	// MaxReviews caps the SubjectAccessReviews per request; DefaultMaxReviews when 0.
	MaxReviews int
}

var _ admission.Handler = &BaselineHandler{}

// Handle implements admission.Handler.
func (h *BaselineHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	rb := &v1.RoleBaseline{}
	if err := h.Decoder.DecodeRaw(req.Object, rb); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	scope, err := drift.CompileScope(&rb.Spec)
	if err != nil {
		return admission.Denied(err.Error())
	}
	if rb.Spec.Mode != v1.ModeEnforce {
		return admission.Allowed("")
	}
	var old *v1.RoleBaseline
	if req.Operation == admissionv1.Update {
		old = &v1.RoleBaseline{}
		if err := h.Decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	var (
		baselines  v1.RoleBaselineList
		namespaces corev1.NamespaceList
	)
	if err := h.Client.List(ctx, &baselines); err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if err := h.Client.List(ctx, &namespaces); err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if msg := conflict(baselineScope{rb, scope}, baselines.Items, namespaces.Items); msg != "" {
		return admission.Denied(msg)
	}
	if !grantsChanged(old, rb) {
		return admission.Allowed("")
	}
	maxReviews := h.MaxReviews
	if maxReviews <= 0 {
		maxReviews = DefaultMaxReviews
	}
	rv := &reviewer{client: h.Client, user: req.UserInfo, left: maxReviews, max: maxReviews}
	reason, err := checkEscalation(ctx, rv, &rb.Spec, scope, h.liveRules(ctx))
	if err != nil {
		var budget errBudget
		if asBudget(err, &budget) {
			return admission.Denied(fmt.Sprintf("RoleBaseline %s (Enforce): %s", rb.Name, err))
		}
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if reason != "" {
		ctrl.LoggerFrom(ctx).Info("Refused a baseline that escalates", "baseline", rb.Name, "user", req.UserInfo.Username)
		return admission.Denied(fmt.Sprintf("RoleBaseline %s (Enforce) would make the operator grant what %s cannot: %s. "+
			"Have it created by someone who holds these permissions (or may escalate and bind roles), or use mode Audit",
			rb.Name, req.UserInfo.Username, reason))
	}
	return admission.Allowed("")
}

// conflict names another Enforce baseline that already declares one of rb's objects.
func conflict(rb baselineScope, all []v1.RoleBaseline, namespaces []corev1.Namespace) string {
	slices.SortFunc(all, func(a, b v1.RoleBaseline) int { return strings.Compare(a.Name, b.Name) })
	for i := range all {
		other := &all[i]
		if other.Name == rb.rb.Name || other.Spec.Mode != v1.ModeEnforce {
			continue
		}
		scope, err := drift.CompileScope(&other.Spec)
		if err != nil {
			continue
		}
		if obj := sharedClaim(rb, baselineScope{other, scope}, namespaces); obj != "" {
			return fmt.Sprintf("RoleBaseline %s (Enforce) declares %s, which RoleBaseline %s already enforces; "+
				"two Enforce baselines would fight over it. Remove the declaration from one of them, narrow a scope, or use mode Audit",
				rb.rb.Name, obj, other.Name)
		}
	}
	return ""
}

// grantsChanged: a new Enforce baseline, a switch to Enforce, or a change of what an
// Enforce baseline creates, binds or removes, or where.
func grantsChanged(old, rb *v1.RoleBaseline) bool {
	if old == nil || old.Spec.Mode != v1.ModeEnforce {
		return true
	}
	return !equality.Semantic.DeepEqual(old.Spec.Roles, rb.Spec.Roles) ||
		!equality.Semantic.DeepEqual(old.Spec.Bindings, rb.Spec.Bindings) ||
		!equality.Semantic.DeepEqual(old.Spec.Scope, rb.Spec.Scope) ||
		old.Spec.Unmanaged != rb.Spec.Unmanaged
}

// liveRules reads a role's rules from the cache.
func (h *BaselineHandler) liveRules(ctx context.Context) func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool) {
	return func(kind, namespace, name string) ([]rbacv1.PolicyRule, bool) {
		key := types.NamespacedName{Namespace: namespace, Name: name}
		if kind == drift.KindRole {
			var r rbacv1.Role
			if err := h.Client.Get(ctx, key, &r); err != nil {
				return nil, false
			}
			return r.Rules, true
		}
		var r rbacv1.ClusterRole
		if err := h.Client.Get(ctx, key, &r); err != nil {
			return nil, false
		}
		return r.Rules, true
	}
}
