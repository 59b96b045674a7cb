package controllers

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

var (
	findingsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rbac_guardrails_findings",
		Help: "Current findings of a baseline, by finding type.",
	}, []string{"baseline", "type"})

	evaluationSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rbac_guardrails_evaluation_duration_seconds",
		Help:    "Time to evaluate a baseline from a fresh snapshot of the informer cache (full).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"kind"})

	detectionSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rbac_guardrails_drift_detection_seconds",
		Help:    "Time from the watch event of an RBAC change to the reconcile that writes its findings to status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})

	reconcilesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_baseline_reconciles_total",
		Help: "Reconciles of each baseline; an RBAC change outside every scope adds none.",
	}, []string{"baseline"})
)

// Enforce-mode metrics.
var (
	revertsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_reverts_total",
		Help: "Reverts applied, by baseline and action.",
	}, []string{"baseline", "action"})

	revertFailuresTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_revert_failures_total",
		Help: "Reverts that failed for another reason than a concurrent change, by baseline.",
	}, []string{"baseline"})

	revertLoopsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_revert_loops_total",
		Help: "Fights started: an object drifted again and again within a minute, by baseline and writer kind (Controller, Person, Unknown).",
	}, []string{"baseline", "writer_kind"})

	foughtRevertsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_fought_reverts_total",
		Help: "Reverts of objects in a fight, by baseline and writer kind; grows while someone repeats a change.",
	}, []string{"baseline", "writer_kind"})

	revertBackoffsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_revert_backoffs_total",
		Help: "Reverts postponed because another controller keeps writing the object, by baseline.",
	}, []string{"baseline"})

	revertQueueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rbac_guardrails_revert_queue_depth",
		Help: "Objects waiting to be reverted.",
	})
)

// Defaults of the operator-wide revert budget (the --revert-qps and --revert-burst
// flags): a 1,000-object mass change is restored in a few seconds, each revert being
// two writes, while the API server's 429 answers halve the rate (revert.Throttle).
const (
	DefaultRevertQPS   = 500
	DefaultRevertBurst = 200
)

// DefaultControllerFieldManagers are field managers of well-known controllers that
// write RBAC (GitOps and RBAC managers, Kubernetes' aggregation controller).
var DefaultControllerFieldManagers = []string{"clusterrole-aggregation-controller", "argocd-controller",
	"argocd-application-controller", "kustomize-controller", "helm-controller", "rbac-manager"}

// throttle is the budget the metrics below read; the last manager set up wins.
var throttle atomic.Pointer[revert.Throttle]

func observeThrottle(t *revert.Throttle) { throttle.Store(t) }

var (
	revertRateLimit = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rbac_guardrails_revert_rate_limit",
		Help: "Reverts per second the operator-wide budget allows now; below --revert-qps while the API server throttles.",
	}, func() float64 {
		if t := throttle.Load(); t != nil {
			return t.LimitAt(time.Now())
		}
		return 0
	})
	apiThrottledTotal = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "rbac_guardrails_apiserver_throttled_total",
		Help: "429 Too Many Requests answers the operator's client received.",
	}, func() float64 {
		if t := throttle.Load(); t != nil {
			return float64(t.ThrottledCount())
		}
		return 0
	})
)

func init() {
	metrics.Registry.MustRegister(revertRateLimit, apiThrottledTotal)
	metrics.Registry.MustRegister(findingsGauge, evaluationSeconds, detectionSeconds, reconcilesTotal,
		revertsTotal, revertFailuresTotal, revertLoopsTotal, foughtRevertsTotal, revertBackoffsTotal, revertQueueDepth)
}

var findingTypes = []v1alpha1.FindingType{v1alpha1.FindingMissing, v1alpha1.FindingRulesAdded, v1alpha1.FindingRulesRemoved,
	v1alpha1.FindingSubjectsAdded, v1alpha1.FindingSubjectsRemoved, v1alpha1.FindingRoleRefChanged, v1alpha1.FindingUnexpected,
	v1alpha1.FindingExceedsCeiling, v1alpha1.FindingGuardrailViolation, v1alpha1.FindingUnusedPermission}

func recordFindings(baseline string, counts v1alpha1.FindingCounts) {
	for _, t := range findingTypes {
		findingsGauge.WithLabelValues(baseline, string(t)).Set(float64(counts.ByType[t]))
	}
}

func forgetBaseline(baseline string) {
	findingsGauge.DeletePartialMatch(prometheus.Labels{"baseline": baseline})
	reconcilesTotal.DeleteLabelValues(baseline)
	for _, v := range []*prometheus.CounterVec{revertsTotal, revertFailuresTotal, revertLoopsTotal, foughtRevertsTotal, revertBackoffsTotal} {
		v.DeletePartialMatch(prometheus.Labels{"baseline": baseline})
	}
}
