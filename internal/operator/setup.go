package operator

import (
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/rbac-guardrails/rbac-guardrails/controllers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/enforce"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/report"
	"github.com/rbac-guardrails/rbac-guardrails/internal/webhook"
)

// Attribution index bounds: writes remembered per object, objects remembered.
const (
	attributedWritesPerObject = 16
	attributedObjects         = 10000
)

// Operator is what Setup wired, for tests and tools to observe.
type Operator struct {
	Registry *registry.Registry
	Enforcer *enforce.Enforcer
	// Audit is nil when no audit intake is configured.
	Audit *report.AuditSources
}

// Setup adds the whole operator to mgr: the registry and its feed (every replica),
// the status and Enforce controllers (the leader), the admission webhooks (every
// replica) when enabled, the audit intake when configured, and health checks.
func Setup(mgr manager.Manager, o Options) (*Operator, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := mgr.GetLogger()
	// Before any evaluator is built: they all judge for this server.
	srv, err := DiscoverServer(mgr.GetConfig())
	if err != nil {
		log.Error(err, "Discovering the API server; judging with the built-in list of cluster-scoped resources, as for an unknown version")
	}
	guardrails.SetServer(srv)
	log.Info("Judging RBAC for the API server", "version", srv.String())
	reg := registry.New(registry.NamespaceObjects(mgr.GetClient(), func(err error, ns string) {
		log.WithName("registry").Error(err, "Listing the RBAC of a newly selected namespace; the next resync adds it", "namespace", ns)
	}))
	if err := mgr.Add(&registry.Feed{Registry: reg, Cache: mgr.GetCache(), ResyncPeriod: o.ResyncPeriod,
		Log: log.WithName("registry"), Now: o.Now}); err != nil {
		return nil, err
	}

	src := o.AuditSources
	if src == nil {
		var err error
		if src, err = setupAudit(mgr, o.Audit, o.Enforce.JournalNamespace); err != nil {
			return nil, err
		}
	}
	if src != nil && o.UsageRefresh > 0 {
		src.UsageRefresh = o.UsageRefresh
	}
	approvals := &approval.Store{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: o.Enforce.JournalNamespace}
	eo := enforce.Options{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                mgr.GetEventRecorder("rbac-guardrails"),
		JournalNamespace:        o.Enforce.JournalNamespace,
		Throttle:                o.Throttle,
		ControllerFieldManagers: append([]string{}, webhook.SplitList(o.Enforce.ControllerFieldManagers)...), // empty names none
		Now:                     o.Now,
	}
	if o.Enforce.RequireApproval {
		eo.Approvals = approvals
		if !o.Webhooks.Enabled {
			log.Info("Warning: --enable-webhooks=false with --require-approval: no Enforce baseline can be approved here, so none is enforced " +
				"unless another replica serves the webhooks")
		}
	}
	if src != nil {
		eo.Attribute = func(ref drift.ObjectRef, rv string) (string, bool) {
			if w, ok := src.Index.Attribute(ref, rv); ok {
				return w.Who(), true
			}
			return "", false
		}
	}
	enf := enforce.New(eo)

	rep := &report.Reporter{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("rbac-guardrails"), Registry: reg,
		StatusFindings: o.StatusFindings, Audit: src, Now: o.Now}
	if err := (&controllers.RoleBaselineReconciler{Client: mgr.GetClient(), Registry: reg, Reporter: rep,
		Enforcer: enf}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if err := (&controllers.EnforceReconciler{Registry: reg, Enforcer: enf}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	// A grant's requester and approver are verified at admission only: without the
	// webhooks (and without --require-approval=false, which tests use), grants are not
	// activated here, as Enforce degrades to Audit without its approval.
	if o.Webhooks.Enabled || !o.Enforce.RequireApproval {
		if err := (&controllers.AccessGrantReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("rbac-guardrails"), JournalNamespace: o.Enforce.JournalNamespace, Now: now}).SetupWithManager(mgr); err != nil {
			return nil, err
		}
	} else {
		log.Info("Warning: --enable-webhooks=false: AccessGrants are not activated here, since their requester and approver are verified at admission")
	}
	if o.Webhooks.Enabled {
		webhook.Register(mgr, reg, webhook.Options{Exemptions: o.Webhooks.Exemptions(), Approvals: approvals,
			RelaxGroups: webhook.SplitList(o.Webhooks.RelaxGroups)})
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return &Operator{Registry: reg, Enforcer: enf, Audit: src}, nil
}

// setupAudit wires the audit intakes and returns the controller's sources; nil when
// no intake is configured.
func setupAudit(mgr manager.Manager, o audit.Options, namespace string) (*report.AuditSources, error) {
	if !o.Enabled() {
		return nil, nil
	}
	o.Namespace = namespace
	src := report.NewAuditSources(attributedWritesPerObject, attributedObjects, nil, nil)
	agg, loaded, err := audit.Setup(mgr, o, src.Index)
	if err != nil {
		return nil, err
	}
	src.Usage, src.UsageLoaded = agg, loaded
	return src, nil
}
