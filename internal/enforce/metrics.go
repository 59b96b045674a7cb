package enforce

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

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
)

// throttle is the budget the metrics below read; the last Enforcer made wins.
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
	metrics.Registry.MustRegister(revertRateLimit, apiThrottledTotal,
		revertsTotal, revertFailuresTotal, revertLoopsTotal, foughtRevertsTotal, revertBackoffsTotal)
}

func forgetBaseline(baseline string) {
	for _, v := range []*prometheus.CounterVec{revertsTotal, revertFailuresTotal, revertLoopsTotal, foughtRevertsTotal, revertBackoffsTotal} {
		v.DeletePartialMatch(prometheus.Labels{"baseline": baseline})
	}
}
