package registry

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var evaluationSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "rbac_guardrails_evaluation_duration_seconds",
	Help:    "Time to evaluate a baseline from a fresh snapshot of the informer cache (full).",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
}, []string{"kind"})

var loadSeconds = evaluationSeconds.WithLabelValues("full")

func init() { metrics.Registry.MustRegister(evaluationSeconds) }
