package webhook

import (
	"flag"
	"os"
	"strings"
)

// Flags are the admission webhooks' command-line settings; Host, Port and CertDir
// configure the manager's webhook server.
type Flags struct {
	Enabled        bool
	Host           string
	Port           int
	CertDir        string
	ExemptUsers    string
	ExemptGroups   string
	ExcludedNS     string
	ServiceAccount string
	RelaxGroups    string
	// PodNamespace is the operator's namespace, from $POD_NAMESPACE.
	PodNamespace string
}

// BindFlags registers the webhook flags on fs with their defaults.
func (f *Flags) BindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&f.Enabled, "enable-webhooks", true,
		"Serve the admission webhooks (RBAC guardrails and RoleBaseline validation); needs serving certificates in --webhook-cert-dir.")
	fs.StringVar(&f.Host, "webhook-host", "", "Address the admission webhooks bind to; empty binds every interface.")
	fs.IntVar(&f.Port, "webhook-port", 9443, "Port the admission webhooks are served on.")
	fs.StringVar(&f.CertDir, "webhook-cert-dir", "",
		"Directory holding tls.crt and tls.key for the webhooks; rotated files are picked up without restart. Default: $TMPDIR/k8s-webhook-server/serving-certs.")
	fs.StringVar(&f.ExemptUsers, "webhook-exempt-users", strings.Join(DefaultExemptUsers, ","),
		"Comma-separated users whose RBAC writes the webhook always allows (break-glass). The default lists the "+
			"Kubernetes controllers that delete or aggregate RBAC (a terminating namespace must empty). "+
			"The operator's own ServiceAccount is always exempt.")
	fs.StringVar(&f.ExemptGroups, "webhook-exempt-groups", "system:masters",
		"Comma-separated groups whose RBAC writes the webhook always allows (break-glass).")
	fs.StringVar(&f.ExcludedNS, "webhook-excluded-namespaces", "kube-system",
		"Comma-separated namespaces whose RBAC objects the webhook never judges.")
	fs.StringVar(&f.ServiceAccount, "service-account-name", envOr("SERVICE_ACCOUNT_NAME", "rbac-guardrails-controller-manager"),
		"The operator's ServiceAccount, in the POD_NAMESPACE namespace; exempt from the RBAC webhook so reverts are never blocked.")
	fs.StringVar(&f.RelaxGroups, "relax-enforcement-groups", "",
		"Comma-separated groups allowed, besides a baseline's approver, to switch an Enforce baseline to Audit or dry run; empty allows every editor (each switch is announced).")
	f.PodNamespace = envOr("POD_NAMESPACE", "rbac-guardrails-system")
}

// Exemptions are the users, groups and namespaces the flags exempt, the operator's
// own ServiceAccount among the users.
func (f *Flags) Exemptions() Exemptions {
	users := append(SplitList(f.ExemptUsers), ServiceAccountUser(f.PodNamespace, f.ServiceAccount))
	return NewExemptions(users, SplitList(f.ExemptGroups), SplitList(f.ExcludedNS))
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
