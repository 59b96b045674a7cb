package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
)

// Options configure the admission handlers.
type Options struct {
	Exemptions Exemptions
	// MaxReviews caps the SubjectAccessReviews per RoleBaseline request; DefaultMaxReviews when 0.
	MaxReviews int
	// Approvals records the approval of each Enforce baseline whose author may make its writes.
	Approvals *approval.Store
	// RelaxGroups, when set, restrict switching an Enforce baseline to Audit or dry run.
	RelaxGroups []string
}

// Register serves the handlers on the manager's webhook server.
func Register(mgr ctrl.Manager, p Previewer, opts Options) {
	dec := admission.NewDecoder(mgr.GetScheme())
	srv := mgr.GetWebhookServer()
	srv.Register(RBACPath, &webhook.Admission{Handler: &RBACHandler{Previewer: p, Decoder: dec, Exemptions: opts.Exemptions}})
	srv.Register(BaselinePath, &webhook.Admission{Handler: &BaselineHandler{Client: mgr.GetClient(), Decoder: dec,
		MaxReviews: opts.MaxReviews, Approvals: opts.Approvals, RelaxGroups: opts.RelaxGroups,
		Recorder: mgr.GetEventRecorder("rbac-guardrails")}})
	srv.Register(GrantDefaultPath, &webhook.Admission{Handler: &GrantDefaulter{Decoder: dec}})
	srv.Register(GrantValidatePath, &webhook.Admission{Handler: &GrantValidator{Client: mgr.GetClient(), Decoder: dec}})
}
