/*
Copyright 2026 The rbac-guardrails Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command rbac-guardrails runs the operator: it keeps a cluster's RBAC on the
// least-privilege baselines declared as RoleBaseline objects.
package main

import (
	"crypto/tls"
	"flag"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/controllers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
	guardwebhook "github.com/rbac-guardrails/rbac-guardrails/internal/webhook"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
}

// options are the command-line flags.
type options struct {
	metricsAddr   string
	metricsSecure bool
	probeAddr     string
	leaderElect   bool
	leaderNS      string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
	enableHTTP2   bool
	resyncPeriod  time.Duration
	journalNS     string
	pprofAddr     string
	findings      int
	revertQPS     float64
	revertBurst   int
	controllers   string
	approvals     bool
	relaxGroups   string
	webhooks      webhookOptions
	audit         audit.Options
}

// webhookOptions are the admission webhook flags.
type webhookOptions struct {
	enabled        bool
	host           string
	port           int
	certDir        string
	exemptUsers    string
	exemptGroups   string
	excludedNS     string
	podNamespace   string
	serviceAccount string
}

func main() {
	var opts options
	flag.StringVar(&opts.metricsAddr, "metrics-bind-address", "0",
		"Address the metrics endpoint binds to, e.g. :8443 (HTTPS) or :8080 (HTTP with --metrics-secure=false). 0 disables it.")
	flag.BoolVar(&opts.metricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS, authenticated and authorized through the API server.")
	flag.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.BoolVar(&opts.leaderElect, "leader-elect", false,
		"Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&opts.leaderNS, "leader-election-namespace", os.Getenv("POD_NAMESPACE"),
		"Namespace of the leader election Lease; empty means the pod's own namespace (in a cluster only).")
	flag.DurationVar(&opts.leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a standby waits after the leader's last renewal before taking over. A leader that dies without releasing "+
			"its lease (a crash, a node loss) leaves drift unreverted about this long; shorter means more renewals and a "+
			"leader more easily lost to a slow API server.")
	flag.DurationVar(&opts.renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps trying to renew before it gives up leading; less than --leader-elect-lease-duration.")
	flag.DurationVar(&opts.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often leader election is tried or renewed.")
	flag.BoolVar(&opts.enableHTTP2, "enable-http2", false,
		"Serve HTTP/2 on the metrics endpoint; off by default against HTTP/2 rapid-reset attacks.")
	flag.DurationVar(&opts.resyncPeriod, "resync-period", 10*time.Minute,
		"How often each baseline is re-evaluated from a fresh snapshot, with 10% jitter; watch events keep it current in between.")
	flag.StringVar(&opts.journalNS, "journal-namespace", envOr("POD_NAMESPACE", "rbac-guardrails-system"),
		"Namespace of the Enforce-mode journal (ConfigMaps holding the prior state of every reverted object).")
	flag.IntVar(&opts.findings, "status-findings-limit", controllers.DefaultStatusFindings,
		"How many findings each RoleBaseline lists in status, most severe first (1-100); status.counts covers all of them. Each status write carries the whole list.")
	flag.Float64Var(&opts.revertQPS, "revert-qps", controllers.DefaultRevertQPS,
		"Reverts per second across all Enforce baselines, each a journal write and an object write; halved whenever the API "+
			"server answers 429 Too Many Requests and regained over a few seconds. 0 removes the limit.")
	flag.IntVar(&opts.revertBurst, "revert-burst", controllers.DefaultRevertBurst, "Reverts that may start at once before --revert-qps applies.")
	flag.StringVar(&opts.controllers, "controller-field-managers", strings.Join(controllers.DefaultControllerFieldManagers, ","),
		"Comma-separated field managers taken for other controllers when the audit log does not name the writer. An object such "+
			"a writer keeps changing is reverted with backoff (and reported); any other writer is reverted every time. "+
			"Field managers are chosen by clients: with the audit intake on, the authenticated identity decides.")
	flag.BoolVar(&opts.approvals, "require-approval", true,
		"Write nothing for an Enforce baseline until the admission webhook has approved its effects for an author allowed to "+
			"make them (docs/security.md). Turn off only where the webhook cannot run: anyone who may edit a baseline can then "+
			"make the operator write RBAC with its own permissions.")
	flag.StringVar(&opts.relaxGroups, "relax-enforcement-groups", "",
		"Comma-separated groups allowed, besides a baseline's approver, to switch an Enforce baseline to Audit or dry run; empty allows every editor (each switch is announced).")
	flag.StringVar(&opts.pprofAddr, "pprof-bind-address", "",
		"Address of the Go profiling endpoint (/debug/pprof), e.g. 127.0.0.1:6060; empty disables it. Never expose it outside the pod.")
	flag.BoolVar(&opts.webhooks.enabled, "enable-webhooks", true,
		"Serve the admission webhooks (RBAC guardrails and RoleBaseline validation); needs serving certificates in --webhook-cert-dir.")
	flag.StringVar(&opts.webhooks.host, "webhook-host", "", "Address the admission webhooks bind to; empty binds every interface.")
	flag.IntVar(&opts.webhooks.port, "webhook-port", 9443, "Port the admission webhooks are served on.")
	flag.StringVar(&opts.webhooks.certDir, "webhook-cert-dir", "",
		"Directory holding tls.crt and tls.key for the webhooks; rotated files are picked up without restart. Default: $TMPDIR/k8s-webhook-server/serving-certs.")
	flag.StringVar(&opts.webhooks.exemptUsers, "webhook-exempt-users", strings.Join(guardwebhook.DefaultExemptUsers, ","),
		"Comma-separated users whose RBAC writes the webhook always allows (break-glass). The default lists the "+
			"Kubernetes controllers that delete or aggregate RBAC (a terminating namespace must empty). "+
			"The operator's own ServiceAccount is always exempt.")
	flag.StringVar(&opts.webhooks.exemptGroups, "webhook-exempt-groups", "system:masters",
		"Comma-separated groups whose RBAC writes the webhook always allows (break-glass).")
	flag.StringVar(&opts.webhooks.excludedNS, "webhook-excluded-namespaces", "kube-system",
		"Comma-separated namespaces whose RBAC objects the webhook never judges.")
	flag.StringVar(&opts.webhooks.serviceAccount, "service-account-name", envOr("SERVICE_ACCOUNT_NAME", "rbac-guardrails-controller-manager"),
		"The operator's ServiceAccount, in the POD_NAMESPACE namespace; exempt from the RBAC webhook so reverts are never blocked.")
	opts.webhooks.podNamespace = envOr("POD_NAMESPACE", "rbac-guardrails-system")
	bindAuditFlags(flag.CommandLine, &opts.audit)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if os.Getenv("GOGC") == "" {
		// Most of the live heap is the informer cache, which changes slowly; collecting
		// at 50% growth instead of 100% keeps about 15 MB less resident at 20k RBAC
		// objects for a little more GC work. GOGC in the environment overrides it.
		debug.SetGCPercent(50)
	}
	log := ctrl.Log.WithName("setup")

	if err := run(opts); err != nil {
		log.Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}

func run(opts options) error {
	log := ctrl.Log.WithName("setup")
	if err := checkAuditPort(opts.audit.WebhookAddr, opts.webhooks.enabled, opts.webhooks.port); err != nil {
		return err
	}

	var tlsOpts []func(*tls.Config)
	if !opts.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   opts.metricsAddr,
		SecureServing: opts.metricsSecure,
		TLSOpts:       tlsOpts,
	}
	if opts.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	throttle := revert.NewThrottle(opts.revertQPS, opts.revertBurst)
	cfg := ctrl.GetConfigOrDie()
	// Every 429 the API server answers slows the reverts down.
	cfg.Wrap(throttle.WrapTransport)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		WebhookServer: webhook.NewServer(webhook.Options{Host: opts.webhooks.host, Port: opts.webhooks.port, CertDir: opts.webhooks.certDir,
			TLSOpts: tlsOpts}),
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  opts.probeAddr,
		LeaderElection:          opts.leaderElect,
		LeaderElectionID:        "rbac-guardrails.guardrails.rbac-guardrails.io",
		LeaderElectionNamespace: opts.leaderNS,
		LeaseDuration:           &opts.leaseDuration,
		RenewDeadline:           &opts.renewDeadline,
		RetryPeriod:             &opts.retryPeriod,
		// The process exits as soon as the manager stops, so a stopping leader can hand
		// over at once: reverts, webhooks' feeds and audit routing move in ~2 s, not ~17 s.
		LeaderElectionReleaseOnCancel: true,
		PprofBindAddress:              opts.pprofAddr,
		// Managed fields are most of an RBAC object's size and no check reads them.
		Cache: controllers.CacheOptions(),
	})
	if err != nil {
		return err
	}

	reconciler := &controllers.RoleBaselineReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                mgr.GetEventRecorder("rbac-guardrails"),
		ResyncPeriod:            opts.resyncPeriod,
		JournalNamespace:        opts.journalNS,
		StatusFindings:          opts.findings,
		Throttle:                throttle,
		ControllerFieldManagers: append([]string{}, splitList(opts.controllers)...), // empty names none
	}
	approvals := &approval.Store{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: opts.journalNS}
	if opts.approvals {
		reconciler.Approvals = approvals
		if !opts.webhooks.enabled {
			log.Info("Warning: --enable-webhooks=false with --require-approval: no Enforce baseline can be approved here, so none is enforced " +
				"unless another replica serves the webhooks")
		}
	}
	if err := setupAudit(mgr, opts.audit, opts.journalNS, reconciler); err != nil {
		return err
	}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return err
	}
	if opts.webhooks.enabled {
		// Every replica behind the webhook Service must judge, not only the leader.
		if err := reconciler.SetupStandby(mgr); err != nil {
			return err
		}
		w := opts.webhooks
		users := append(splitList(w.exemptUsers), guardwebhook.ServiceAccountUser(w.podNamespace, w.serviceAccount))
		guardwebhook.Register(mgr, reconciler, guardwebhook.Options{
			Exemptions:  guardwebhook.NewExemptions(users, splitList(w.exemptGroups), splitList(w.excludedNS)),
			Approvals:   approvals,
			RelaxGroups: splitList(opts.relaxGroups),
		})
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			return err
		}
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}

	log.Info("Starting manager", "metrics", opts.metricsAddr, "probes", opts.probeAddr, "leaderElection", opts.leaderElect,
		"webhooks", opts.webhooks.enabled)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
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
