package report

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

var (
	findingsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rbac_guardrails_findings",
		Help: "Current findings of a baseline, by finding type.",
	}, []string{"baseline", "type"})

	detectionSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rbac_guardrails_drift_detection_seconds",
		Help:    "Time from the watch event of an RBAC change to the reconcile that writes its findings to status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
)

func init() {
	metrics.Registry.MustRegister(findingsGauge, detectionSeconds)
}

var findingTypes = []v1alpha1.FindingType{v1alpha1.FindingMissing, v1alpha1.FindingRulesAdded, v1alpha1.FindingRulesRemoved,
	v1alpha1.FindingSubjectsAdded, v1alpha1.FindingSubjectsRemoved, v1alpha1.FindingRoleRefChanged, v1alpha1.FindingUnexpected,
	v1alpha1.FindingExceedsCeiling, v1alpha1.FindingGuardrailViolation, v1alpha1.FindingUnusedPermission, v1alpha1.FindingIneffectiveRule}

func recordFindings(baseline string, counts v1alpha1.FindingCounts) {
	for _, t := range findingTypes {
		findingsGauge.WithLabelValues(baseline, string(t)).Set(float64(counts.ByType[t]))
	}
}

func forgetBaseline(baseline string) {
	findingsGauge.DeletePartialMatch(prometheus.Labels{"baseline": baseline})
}
