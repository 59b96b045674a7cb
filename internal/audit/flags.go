package audit

import (
	"flag"
	"os"
	"time"
)

// BindFlags registers the audit intake flags (docs/audit.md) on fs, and reads the
// pod's identity from the environment (the downward API, config/audit).
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.WebhookAddr, "audit-webhook-bind-address", "",
		"Address the audit webhook receiver listens on (HTTPS, path /audit), e.g. :9444 (the admission webhooks use --webhook-port, 9443). Empty disables it.")
	fs.StringVar(&o.CertDir, "audit-webhook-cert-dir", "/tmp/k8s-audit-webhook-server/serving-certs",
		"Directory with the audit webhook receiver's serving certificate, tls.crt and tls.key.")
	fs.StringVar(&o.ClientCAFile, "audit-webhook-client-ca", "",
		"CA bundle that signs the API server's client certificate for the audit webhook.")
	fs.StringVar(&o.TokenFile, "audit-webhook-token-file", "",
		"File holding the bearer token the API server presents to the audit webhook.")
	fs.StringVar(&o.LogPath, "audit-log-path", "",
		"API server audit log (JSON lines) to follow, as --audit-log-path on the API server. Empty disables it.")
	fs.DurationVar(&o.UsageWindow, "usage-window", 720*time.Hour,
		"How far back audit usage counts for UnusedPermission findings.")
	fs.StringVar(&o.ServiceName, "audit-service-name", "",
		"Selector-less Service in front of the audit webhook receiver, in $POD_NAMESPACE: the leader points its EndpointSlice "+
			"at its own address ($POD_IP and the --audit-webhook-bind-address port) so audit batches reach the replica that runs "+
			"the intake. Empty disables it.")
	o.ServiceNamespace = os.Getenv("POD_NAMESPACE")
	if o.ServiceNamespace == "" {
		o.ServiceNamespace = "rbac-guardrails-system"
	}
	o.PodName, o.PodIP = os.Getenv("POD_NAME"), os.Getenv("POD_IP")
}
