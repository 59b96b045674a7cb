package controllers

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

var (
	// grantTransitionsTotal counts state changes: activations, expiries, revocations,
	// denials.
	grantTransitionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_access_grant_transitions_total",
		Help: "AccessGrant state changes, by baseline and the state entered (Pending, Active, Expired, Revoked, Denied).",
	}, []string{"baseline", "state"})

	grantsOverdueTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_access_grants_overdue_total",
		Help: "AccessGrants that ended more than a second after their expiry (the operator was down, or behind), by baseline.",
	}, []string{"baseline"})

	grantApprovalSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rbac_guardrails_access_grant_time_to_activation_seconds",
		Help:    "From an AccessGrant's creation to its activation (approval included), by baseline.",
		Buckets: []float64{1, 10, 60, 300, 900, 3600, 4 * 3600},
	}, []string{"baseline"})
)

func init() {
	metrics.Registry.MustRegister(grantTransitionsTotal, grantsOverdueTotal, grantApprovalSeconds)
}

// activeGrants counts the active grants per baseline when scraped, from the cache,
// so the figure is right after a restart too.
type activeGrants struct {
	reader client.Reader
	desc   *prometheus.Desc
}

func newActiveGrants(r client.Reader) *activeGrants {
	return &activeGrants{reader: r, desc: prometheus.NewDesc("rbac_guardrails_access_grants_active",
		"AccessGrants active now, by baseline.", []string{"baseline"}, nil)}
}

func (a *activeGrants) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *activeGrants) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.AccessGrantList
	if err := a.reader.List(ctx, &list); err != nil {
		return
	}
	n := map[string]int{}
	for _, g := range list.Items {
		if g.Status.State == v1alpha1.GrantActive {
			n[g.Spec.Baseline]++
		}
	}
	for b, c := range n {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(c), b)
	}
}

// observeTransition records a grant entering state st.State.
func observeTransition(g *v1alpha1.AccessGrant, st *v1alpha1.AccessGrantStatus) {
	b := g.Spec.Baseline
	grantTransitionsTotal.WithLabelValues(b, string(st.State)).Inc()
	switch st.State {
	case v1alpha1.GrantActive:
		if st.ActivatedAt != nil {
			grantApprovalSeconds.WithLabelValues(b).Observe(st.ActivatedAt.Sub(g.CreationTimestamp.Time).Seconds())
		}
	case v1alpha1.GrantExpired:
		if st.EndedAt != nil && st.ExpiresAt != nil && st.EndedAt.Sub(st.ExpiresAt.Time).Seconds() > 1 {
			grantsOverdueTotal.WithLabelValues(b).Inc()
		}
	}
}

// registerActiveGrants registers the gauge once per process (tests set up twice).
func registerActiveGrants(r client.Reader) error {
	err := metrics.Registry.Register(newActiveGrants(r))
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}
