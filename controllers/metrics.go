package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
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

func init() {
	metrics.Registry.MustRegister(findingsGauge, evaluationSeconds, detectionSeconds, reconcilesTotal)
}

var findingTypes = []v1.FindingType{v1.FindingMissing, v1.FindingRulesAdded, v1.FindingRulesRemoved,
	v1.FindingSubjectsAdded, v1.FindingSubjectsRemoved, v1.FindingRoleRefChanged, v1.FindingUnexpected,
	v1.FindingExceedsCeiling, v1.FindingGuardrailViolation, v1.FindingUnusedPermission}

func recordFindings(baseline string, counts v1.FindingCounts) {
	for _, t := range findingTypes {
		findingsGauge.WithLabelValues(baseline, string(t)).Set(float64(counts.ByType[t]))
	}
}

func forgetBaseline(baseline string) {
	findingsGauge.DeletePartialMatch(prometheus.Labels{"baseline": baseline})
	reconcilesTotal.DeleteLabelValues(baseline)
}
