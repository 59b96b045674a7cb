package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/rbac-guardrails/rbac-guardrails/controllers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
)

// bindAuditFlags registers the audit intake flags (docs/audit.md) on fs, and reads
// the pod's identity from the environment.
func bindAuditFlags(fs *flag.FlagSet, o *audit.Options) {
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
	// The pod's identity comes from the downward API (config/audit).
	o.ServiceNamespace = envOr("POD_NAMESPACE", "rbac-guardrails-system")
	o.PodName, o.PodIP = os.Getenv("POD_NAME"), os.Getenv("POD_IP")
}

// checkAuditPort refuses an audit receiver on the admission webhooks' port: the second
// listener would fail to bind only after the manager started.
func checkAuditPort(auditAddr string, webhooksEnabled bool, webhookPort int) error {
	if auditAddr == "" || !webhooksEnabled {
		return nil
	}
	_, port, err := net.SplitHostPort(auditAddr)
	if err != nil {
		return fmt.Errorf("--audit-webhook-bind-address %q: %w; give host:port, e.g. :9444", auditAddr, err)
	}
	if port == strconv.Itoa(webhookPort) {
		return fmt.Errorf("--audit-webhook-bind-address %q uses port %s, which the admission webhooks already serve (--webhook-port): "+
			"pick another port for the audit receiver, e.g. :9444", auditAddr, port)
	}
	return nil
}

// setupAudit wires the audit intakes and hands the reconciler its sources; nothing
// when no intake is configured.
func setupAudit(mgr ctrl.Manager, o audit.Options, namespace string, r *controllers.RoleBaselineReconciler) error {
	if !o.Enabled() {
		return nil
	}
	o.Namespace = namespace
	src := controllers.NewAuditSources(16, 10000, nil, nil)
	agg, loaded, err := audit.Setup(mgr, o, src.Index)
	if err != nil {
		return err
	}
	src.Usage, src.UsageLoaded = agg, loaded
	r.Audit = src
	return nil
}
