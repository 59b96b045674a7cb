package audit

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Reasons for dropped and refused metrics.
const (
	DropMalformedLine = "malformed_line"
	DropLineTooLong   = "line_too_long"
	DropBadReason     = "unparsable_reason"
	DropUsageFull     = "usage_full"

	RefuseUnauthenticated = "unauthenticated"
	RefuseTooLarge        = "too_large"
	RefuseMalformed       = "malformed"
	RefuseMediaType       = "unsupported_media_type"
	RefuseMethod          = "method_not_allowed"
	RefuseBusy            = "busy"
)

var (
	eventsReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_audit_events_received_total",
		Help: "Audit events decoded, by source (webhook or file).",
	}, []string{"source"})
	eventsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_audit_events_dropped_total",
		Help: "Audit events or lines accepted but not used, by reason.",
	}, []string{"reason"})
	eventsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rbac_guardrails_audit_events_refused_total",
		Help: "Webhook requests refused, by reason; a refused request may carry many events.",
	}, []string{"reason"})
)

func init() {
	metrics.Registry.MustRegister(eventsReceived, eventsDropped, eventsRefused)
}
