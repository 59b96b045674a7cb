package audit

import (
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Intake routes filtered audit events to the attribution index and the usage
// aggregator; both intakes (webhook and file) feed it. Either sink may be nil.
type Intake struct {
	Index *Index
	Usage *Aggregator
}

// Process files one decoded event.
func (in *Intake) Process(ev *auditv1.Event) {
	w, a, out := Filter(ev)
	switch out {
	case Irrelevant:
		return
	case BadReason:
		eventsDropped.WithLabelValues(DropBadReason).Inc()
	}
	if w != nil && in.Index != nil {
		in.Index.Record(*w)
	}
	if a != nil && in.Usage != nil && !in.Usage.Add(*a, ev.StageTimestamp.Time) {
		eventsDropped.WithLabelValues(DropUsageFull).Inc()
	}
}
