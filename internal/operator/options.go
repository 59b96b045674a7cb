package operator

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/enforce"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/report"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
	"github.com/rbac-guardrails/rbac-guardrails/internal/webhook"
)

// Options are the settings of every subsystem Setup wires.
type Options struct {
	// ResyncPeriod is how often each baseline is reloaded from a fresh snapshot.
	ResyncPeriod time.Duration
	// StatusFindings caps status.findings.
	StatusFindings int
	Enforce        enforce.Flags
	Webhooks       webhook.Flags
	Audit          audit.Options

	// Throttle is the operator-wide revert budget; WrapConfig sets it (a new one from
	// the Enforce flags when nil).
	Throttle *revert.Throttle
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// UsageRefresh is the least time between two applications of new usage data
	// (report.AuditSources.UsageRefresh; 30 s when zero).
	UsageRefresh time.Duration
	// AuditSources, when set, are the sources of an audit intake set up on another
	// manager (a test's); Setup then starts no intake of its own.
	AuditSources *report.AuditSources
}

// BindFlags registers every subsystem's flags on fs, with their defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.DurationVar(&o.ResyncPeriod, "resync-period", registry.DefaultResyncPeriod,
		"How often each baseline is re-evaluated from a fresh snapshot, with 10% jitter; watch events keep it current in between.")
	fs.IntVar(&o.StatusFindings, "status-findings-limit", report.DefaultStatusFindings,
		"How many findings each RoleBaseline lists in status, most severe first (1-100); status.counts covers all of them. Each status write carries the whole list.")
	o.Enforce.BindFlags(fs)
	o.Webhooks.BindFlags(fs)
	o.Audit.BindFlags(fs)
}

// DefaultOptions are the options with every flag at its default, as a user runs them.
func DefaultOptions() Options {
	var o Options
	o.BindFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return o
}

// WrapConfig makes the revert budget and has it watch every response of cfg's
// clients: each 429 the API server answers slows reverts down.
func (o *Options) WrapConfig(cfg *rest.Config) {
	if o.Throttle == nil {
		o.Throttle = revert.NewThrottle(o.Enforce.RevertQPS, o.Enforce.RevertBurst)
	}
	cfg.Wrap(o.Throttle.WrapTransport)
}

// validate refuses settings that would fail only once the manager runs.
func (o *Options) validate() error {
	return checkAuditPort(o.Audit.WebhookAddr, o.Webhooks.Enabled, o.Webhooks.Port)
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
