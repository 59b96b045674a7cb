package webhook

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// BaselinePath is where the RoleBaseline webhook is served.
const BaselinePath = "/validate-rolebaseline"

// sideEffects=NoneOnDryRun: an approval is recorded, except for dry runs.
// failurePolicy=fail: unlike RBAC writes, a baseline that escalates has no second line
// behind the webhook, and refusing baseline edits while the operator is down is cheap.
// +kubebuilder:webhook:path=/validate-rolebaseline,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,timeoutSeconds=10,groups=guardrails.rbac-guardrails.io,resources=rolebaselines,verbs=create;update,versions=v1alpha1,name=rolebaseline.guardrails.rbac-guardrails.io,admissionReviewVersions=v1

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// BaselineHandler validates RoleBaselines beyond the schema: an Enforce baseline may
// not claim an object another Enforce baseline already declares, and may not make the
// operator write what its author could not. When the author may make every write, it
// records the approval the controller requires before it writes anything.
type BaselineHandler struct {
	// Client reads baselines, namespaces and roles (from the cache) and creates
	// SubjectAccessReviews.
	Client  client.Client
	Decoder admission.Decoder
	// MaxReviews caps the SubjectAccessReviews per request; DefaultMaxReviews when 0.
	MaxReviews int
	// Approvals, when set, records who approved each Enforce baseline's effects.
	Approvals *approval.Store
	// Recorder announces relaxed enforcement on the baseline; optional.
	Recorder events.EventRecorder
	// RelaxGroups, when set, are the only groups (besides the approver) allowed to
	// switch an Enforce baseline to Audit or dry run.
	RelaxGroups []string
}

var _ admission.Handler = &BaselineHandler{}

// Handle implements admission.Handler.
func (h *BaselineHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	rb := &v1alpha1.RoleBaseline{}
	if err := h.Decoder.DecodeRaw(req.Object, rb); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	scope, err := drift.CompileScope(&rb.Spec)
	if err != nil {
		return admission.Denied(fmt.Sprintf("RoleBaseline %s: %v", rb.Name, err))
	}
	var old *v1alpha1.RoleBaseline
	if req.Operation == admissionv1.Update {
		old = &v1alpha1.RoleBaseline{}
		if err := h.Decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	relaxing := relaxes(old, rb)
	if rb.Spec.Mode != v1alpha1.ModeEnforce && !relaxing {
		return admission.Allowed("") // Audit writes nothing: no approval to read or save
	}
	var rec *approval.Record
	if h.Approvals != nil {
		if rec, err = h.Approvals.Load(ctx, rb); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	if relaxing {
		return h.relax(ctx, req, old, rb, rec)
	}
	var (
		baselines  v1alpha1.RoleBaselineList
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
	// Judge the author when the writes change, or when no approval covers them yet (a
	// baseline stored while the webhook was down, or touched by an admin to approve it).
	hash := approval.EffectHash(&rb.Spec)
	if !effectChanged(old, hash) && (h.Approvals == nil || rec.Covers(rb.UID, hash)) {
		return admission.Allowed("")
	}
	maxReviews := h.MaxReviews
	if maxReviews <= 0 {
		maxReviews = DefaultMaxReviews
	}
	rv := &reviewer{client: h.Client, user: req.UserInfo, left: maxReviews, max: maxReviews}
	var oldSpec *v1alpha1.RoleBaselineSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	reasons, err := checkEscalation(ctx, rv, &rb.Spec, oldSpec, scope, h.liveRules(ctx))
	if err != nil {
		var budget errBudget
		if asBudget(err, &budget) {
			return admission.Denied(fmt.Sprintf("RoleBaseline %s (Enforce): %s", rb.Name, err))
		}
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(reasons) > 0 {
		ctrl.LoggerFrom(ctx).Info("Refused a baseline that escalates", "baseline", rb.Name, "user", req.UserInfo.Username,
			"reasons", len(reasons))
		more := ""
		if len(reasons) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(reasons)-1)
		}
		return admission.Denied(fmt.Sprintf("RoleBaseline %s (Enforce) would make the operator do what %s cannot: %s%s. "+
			"Have it applied by someone who may make these writes (or may escalate and bind roles), or use mode Audit",
			rb.Name, req.UserInfo.Username, reasons[0], more))
	}
	if h.Approvals != nil && !ptr.Deref(req.DryRun, false) {
		r := approval.Record{UID: rb.UID, Hash: hash, User: req.UserInfo.Username,
			Groups: req.UserInfo.Groups, Time: time.Now()}
		if err := h.Approvals.Save(ctx, rb, r); err != nil {
			return admission.Errored(http.StatusInternalServerError, fmt.Errorf("recording the approval of RoleBaseline %s: %w", rb.Name, err))
		}
		ctrl.LoggerFrom(ctx).Info("Approved an Enforce baseline", "baseline", rb.Name, "user", req.UserInfo.Username)
	}
	return admission.Allowed("")
}

// relaxes: an Enforce baseline switched to Audit or to dry run.
func relaxes(old, rb *v1alpha1.RoleBaseline) bool {
	if old == nil || old.Spec.Mode != v1alpha1.ModeEnforce || old.Spec.Enforcement.DryRun {
		return false
	}
	return rb.Spec.Mode != v1alpha1.ModeEnforce || rb.Spec.Enforcement.DryRun
}

// relax allows switching enforcement off to the approver and, when RelaxGroups is
// set, only to members of those groups; it is announced and recorded either way.
func (h *BaselineHandler) relax(ctx context.Context, req admission.Request, old, rb *v1alpha1.RoleBaseline, rec *approval.Record) admission.Response {
	user := req.UserInfo.Username
	approver := ""
	if rec != nil {
		approver = rec.User
	}
	if len(h.RelaxGroups) > 0 && user != approver && !slices.ContainsFunc(req.UserInfo.Groups, func(g string) bool { return slices.Contains(h.RelaxGroups, g) }) {
		return admission.Denied(fmt.Sprintf("RoleBaseline %s: switching it from Enforce to %s is reserved to its approver (%s) and the groups %s; "+
			"ask one of them, or change the baseline without relaxing it", rb.Name, modeText(rb), orNobody(approver), strings.Join(h.RelaxGroups, ", ")))
	}
	if ptr.Deref(req.DryRun, false) {
		return admission.Allowed("")
	}
	msg := fmt.Sprintf("%s switched RoleBaseline %s from Enforce to %s (last approved by %s): drift is no longer reverted", user, rb.Name, modeText(rb), orNobody(approver))
	ctrl.LoggerFrom(ctx).Info("Enforcement relaxed", "baseline", rb.Name, "user", user, "approver", approver)
	if h.Recorder != nil {
		h.Recorder.Eventf(old, nil, corev1.EventTypeWarning, v1alpha1.ReasonEnforcementRelaxed, "Admit", "%s", msg)
	}
	if h.Approvals != nil && rec != nil && rec.UID == rb.UID {
		rec.RelaxedBy = user
		if err := h.Approvals.Save(ctx, rb, *rec); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	return admission.Allowed("")
}

func modeText(rb *v1alpha1.RoleBaseline) string {
	if rb.Spec.Mode == v1alpha1.ModeEnforce {
		return "Enforce with dryRun"
	}
	return string(rb.Spec.Mode)
}

func orNobody(user string) string {
	if user == "" {
		return "nobody"
	}
	return user
}

// conflict names another Enforce baseline that already declares one of rb's objects.
func conflict(rb baselineScope, all []v1alpha1.RoleBaseline, namespaces []corev1.Namespace) string {
	slices.SortFunc(all, func(a, b v1alpha1.RoleBaseline) int { return strings.Compare(a.Name, b.Name) })
	for i := range all {
		other := &all[i]
		if other.Name == rb.rb.Name || other.Spec.Mode != v1alpha1.ModeEnforce {
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

// effectChanged: a new Enforce baseline, a switch to Enforce, or a change of what an
// Enforce baseline makes the operator write, or where.
// hash is approval.EffectHash of the new spec.
func effectChanged(old *v1alpha1.RoleBaseline, hash string) bool {
	return old == nil || old.Spec.Mode != v1alpha1.ModeEnforce || approval.EffectHash(&old.Spec) != hash
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
