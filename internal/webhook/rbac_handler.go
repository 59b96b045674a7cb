package webhook

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
)

// RBACPath is where the RBAC webhook is served.
const RBACPath = "/validate-rbac"

// The namespaceSelector keeps kube-system requests from ever reaching the webhook;
// the handler checks the excluded namespaces too, for deployments that change it.
// +kubebuilder:webhook:path=/validate-rbac,mutating=false,failurePolicy=ignore,sideEffects=None,timeoutSeconds=5,matchPolicy=Equivalent,groups=rbac.authorization.k8s.io,resources=roles;clusterroles;rolebindings;clusterrolebindings,verbs=create;update;delete,versions=v1,name=rbac.guardrails.rbac-guardrails.io,admissionReviewVersions=v1,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system"]}]}}`

// Previewer answers what a proposed RBAC change would introduce, per baseline.
// registry.Registry implements it with its live evaluators.
type Previewer interface {
	Preview(obj client.Object, deleted bool) []registry.Verdict
}

// RBACHandler judges creates, updates and deletes of Roles, ClusterRoles and their
// bindings: denied when an Enforce baseline would get new findings, allowed with a
// warning per new finding of an Audit baseline. Changes that only reduce drift pass.
type RBACHandler struct {
	Previewer  Previewer
	Decoder    admission.Decoder
	Exemptions Exemptions
}

var _ admission.Handler = &RBACHandler{}

// Handle implements admission.Handler.
func (h *RBACHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	log := ctrl.LoggerFrom(ctx)
	if h.Exemptions.Excluded(req.Namespace) {
		return admission.Allowed("namespace " + req.Namespace + " is excluded")
	}
	if ok, why := h.Exemptions.Exempt(req.UserInfo); ok {
		return admission.Allowed(why)
	}
	obj := newRBACObject(req.Kind.Kind)
	if obj == nil {
		return admission.Allowed("not an RBAC object")
	}
	raw, deleted := req.Object, false
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
	case admissionv1.Delete:
		raw, deleted = req.OldObject, true
		if len(raw.Raw) == 0 {
			return admission.Allowed("no prior object to judge the deletion by")
		}
	default:
		return admission.Allowed("")
	}
	if err := h.Decoder.DecodeRaw(raw, obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	d := decide(h.Previewer.Preview(obj, deleted), sets.List(h.Exemptions.Groups))
	if d.deny != "" {
		log.Info("Denied an RBAC change", "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name,
			"operation", req.Operation, "user", req.UserInfo.Username, "dryRun", req.DryRun != nil && *req.DryRun)
		return admission.Denied(d.deny).WithWarnings(d.warnings...)
	}
	return admission.Allowed("").WithWarnings(d.warnings...)
}

func newRBACObject(kind string) client.Object {
	if obj := drift.NewObject(kind); obj != nil {
		return obj
	}
	return nil // a nil drift.Object must stay a nil interface
}
