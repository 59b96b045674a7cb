package enforce

import (
	"flag"
	"os"
	"strings"
)

// Flags are the Enforce mode's command-line settings.
type Flags struct {
	JournalNamespace        string
	RevertQPS               float64
	RevertBurst             int
	ControllerFieldManagers string
	RequireApproval         bool
}

// BindFlags registers the Enforce flags on fs with their defaults.
func (f *Flags) BindFlags(fs *flag.FlagSet) {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "rbac-guardrails-system"
	}
	fs.StringVar(&f.JournalNamespace, "journal-namespace", ns,
		"Namespace of the Enforce-mode journal (ConfigMaps holding the prior state of every reverted object).")
	fs.Float64Var(&f.RevertQPS, "revert-qps", DefaultRevertQPS,
		"Reverts per second across all Enforce baselines, each a journal write and an object write; halved whenever the API "+
			"server answers 429 Too Many Requests and regained over a few seconds. 0 removes the limit.")
	fs.IntVar(&f.RevertBurst, "revert-burst", DefaultRevertBurst, "Reverts that may start at once before --revert-qps applies.")
	fs.StringVar(&f.ControllerFieldManagers, "controller-field-managers", strings.Join(DefaultControllerFieldManagers, ","),
		"Comma-separated field managers taken for other controllers when the audit log does not name the writer. An object such "+
			"a writer keeps changing is reverted with backoff (and reported); any other writer is reverted every time. "+
			"Field managers are chosen by clients: with the audit intake on, the authenticated identity decides.")
	fs.BoolVar(&f.RequireApproval, "require-approval", true,
		"Write nothing for an Enforce baseline until the admission webhook has approved its effects for an author allowed to "+
			"make them (docs/security.md). Turn off only where the webhook cannot run: anyone who may edit a baseline can then "+
			"make the operator write RBAC with its own permissions. Off, AccessGrants are also activated without the webhooks, "+
			"which alone verify their requester and approver.")
}
