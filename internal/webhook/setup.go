package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Options configure the admission handlers.
type Options struct {
	Exemptions Exemptions
	// MaxReviews caps the SubjectAccessReviews per RoleBaseline request; DefaultMaxReviews when 0.
	MaxReviews int
}

// Register serves both handlers on the manager's webhook server.
func Register(mgr ctrl.Manager, p Previewer, opts Options) {
	dec := admission.NewDecoder(mgr.GetScheme())
	srv := mgr.GetWebhookServer()
	srv.Register(RBACPath, &webhook.Admission{Handler: &RBACHandler{Previewer: p, Decoder: dec, Exemptions: opts.Exemptions}})
	srv.Register(BaselinePath, &webhook.Admission{Handler: &BaselineHandler{Client: mgr.GetClient(), Decoder: dec,
		MaxReviews: opts.MaxReviews}})
}
