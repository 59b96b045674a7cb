package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/grants"
)

// Paths of the AccessGrant webhooks.
const (
	GrantDefaultPath  = "/mutate-accessgrant"
	GrantValidatePath = "/validate-accessgrant"
)

// Both fail closed: a grant gives access, and one admitted without its checks could
// name anyone as requester or approver.
// +kubebuilder:webhook:path=/mutate-accessgrant,mutating=true,failurePolicy=fail,sideEffects=None,timeoutSeconds=10,groups=guardrails.rbac-guardrails.io,resources=accessgrants,verbs=create,versions=v1alpha1,name=maccessgrant.guardrails.rbac-guardrails.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-accessgrant,mutating=false,failurePolicy=fail,sideEffects=None,timeoutSeconds=10,groups=guardrails.rbac-guardrails.io,resources=accessgrants,verbs=create;update,versions=v1alpha1,name=vaccessgrant.guardrails.rbac-guardrails.io,admissionReviewVersions=v1

// GrantDefaulter records who creates an AccessGrant: spec.requester and
// spec.requesterGroups from the request's user, whatever the client sent.
type GrantDefaulter struct {
	Decoder admission.Decoder
}

// Handle implements admission.Handler.
func (h *GrantDefaulter) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create {
		return admission.Allowed("")
	}
	g := &v1alpha1.AccessGrant{}
	if err := h.Decoder.DecodeRaw(req.Object, g); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	g.Spec.Requester = req.UserInfo.Username
	g.Spec.RequesterGroups = sortedGroups(req.UserInfo.Groups)
	raw, err := json.Marshal(g)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

func sortedGroups(gs []string) []string {
	out := slices.Clone(gs)
	slices.Sort(out)
	return slices.Compact(out)
}

// GrantValidator admits an AccessGrant its baseline's spec.grants policy allows, and
// an approval decision only from a member of the rule's approvers who is not the
// requester and may grant the role themselves.
type GrantValidator struct {
	Client  client.Client
	Decoder admission.Decoder
}

// Handle implements admission.Handler.
func (h *GrantValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	g := &v1alpha1.AccessGrant{}
	if err := h.Decoder.DecodeRaw(req.Object, g); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	deny := func(format string, a ...any) admission.Response {
		return admission.Denied(fmt.Sprintf("AccessGrant %s: ", g.Name) + fmt.Sprintf(format, a...))
	}
	switch req.Operation {
	case admissionv1.Create:
		if g.Spec.Requester != req.UserInfo.Username || !slices.Equal(g.Spec.RequesterGroups, sortedGroups(req.UserInfo.Groups)) {
			return deny("spec.requester and spec.requesterGroups are who creates the grant (%s), as the admission webhook sets them: leave them out", req.UserInfo.Username)
		}
		if g.Spec.Approval != nil {
			return deny("spec.approval: a grant is approved after it is created, by one of its rule's approvers (kubectl guardrails approve)")
		}
		if _, msg := h.rule(ctx, g); msg != "" {
			return deny("%s", msg)
		}
		return admission.Allowed("")
	case admissionv1.Update:
		old := &v1alpha1.AccessGrant{}
		if err := h.Decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if old.Spec.Approval != nil || g.Spec.Approval == nil {
			return admission.Allowed("") // no new decision; the schema keeps the rest as it was
		}
		return h.decision(ctx, g, req.UserInfo, deny)
	}
	return admission.Allowed("")
}

// rule finds the policy rule that allows g, or says why none does, naming the field.
func (h *GrantValidator) rule(ctx context.Context, g *v1alpha1.AccessGrant) (*v1alpha1.GrantPolicy, string) {
	rb := &v1alpha1.RoleBaseline{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: g.Spec.Baseline}, rb); apierrors.IsNotFound(err) {
		return nil, fmt.Sprintf("spec.baseline: RoleBaseline %s does not exist", g.Spec.Baseline)
	} else if err != nil {
		return nil, fmt.Sprintf("reading RoleBaseline %s: %v", g.Spec.Baseline, err)
	}
	if msg := h.roleExists(ctx, g); msg != "" {
		return nil, msg
	}
	scope, err := drift.CompileScope(&rb.Spec)
	if err != nil {
		return nil, fmt.Sprintf("RoleBaseline %s: %v", rb.Name, err)
	}
	inScope := func(ns string) bool {
		n := &corev1.Namespace{}
		if err := h.Client.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return false
		}
		return scope.SelectsNamespace(ns, n.Labels)
	}
	rule, err := grants.Match(rb.Name, rb.Spec.Grants, grants.Request{Spec: &g.Spec, Requester: g.Spec.Requester,
		Groups: g.Spec.RequesterGroups, InScope: inScope})
	if err != nil {
		return nil, err.Error()
	}
	return rule, ""
}

func (h *GrantValidator) roleExists(ctx context.Context, g *v1alpha1.AccessGrant) string {
	var obj client.Object = &rbacv1.ClusterRole{}
	key := client.ObjectKey{Name: g.Spec.Role.Name}
	if g.Spec.Role.Kind == v1alpha1.KindRole {
		obj = &rbacv1.Role{}
		if len(g.Spec.Namespaces) == 1 {
			key.Namespace = g.Spec.Namespaces[0]
		}
	}
	if err := h.Client.Get(ctx, key, obj); apierrors.IsNotFound(err) {
		where := ""
		if key.Namespace != "" {
			where = " in namespace " + key.Namespace
		}
		return fmt.Sprintf("spec.role: %s %s does not exist%s", g.Spec.Role.Kind, g.Spec.Role.Name, where)
	} else if err != nil {
		return fmt.Sprintf("reading %s %s: %v", g.Spec.Role.Kind, g.Spec.Role.Name, err)
	}
	return ""
}

// decision admits a new approval decision from user.
func (h *GrantValidator) decision(ctx context.Context, g *v1alpha1.AccessGrant, user authenticationv1.UserInfo, deny func(string, ...any) admission.Response) admission.Response {
	a := g.Spec.Approval
	if a.By != user.Username {
		return deny("spec.approval.by: the decision is recorded as its maker's, %s (kubectl guardrails approve fills it in)", user.Username)
	}
	if user.Username == g.Spec.Requester {
		return deny("spec.approval: the requester cannot decide on their own grant: ask a member of its rule's approvers")
	}
	rule, msg := h.rule(ctx, g)
	if msg != "" {
		return deny("%s", msg)
	}
	if rule.Approvers == "" {
		return deny("spec.approval: rule %s needs no approval: the grant is activated without one", rule.Name)
	}
	if !slices.Contains(user.Groups, rule.Approvers) {
		return deny("spec.approval: %s is not in group %s, the approvers of rule %s", user.Username, rule.Approvers, rule.Name)
	}
	if a.Decision != v1alpha1.GrantDecisionApproved {
		return admission.Allowed("")
	}
	// The operator never grants what neither requester nor approver could: the
	// approver must be allowed to bind the role where the grant binds it.
	where := g.Spec.Namespaces
	if len(where) == 0 {
		where = []string{""}
	}
	resource := "clusterroles"
	if g.Spec.Role.Kind == v1alpha1.KindRole {
		resource = "roles"
	}
	rv := &reviewer{client: h.Client, user: user, left: len(where), max: len(where)}
	for _, ns := range where {
		ok, err := rv.allowed(ctx, access{res: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "bind",
			Group: rbacv1.GroupName, Resource: resource, Name: g.Spec.Role.Name}})
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if !ok {
			place := "cluster-wide"
			if ns != "" {
				place = "in namespace " + ns
			}
			return deny("spec.approval: %s may not grant %s %s %s themselves (bind), so cannot approve it", user.Username,
				g.Spec.Role.Kind, g.Spec.Role.Name, place)
		}
	}
	return admission.Allowed("")
}
