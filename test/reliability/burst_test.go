package reliability

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

// A mass change (a namespace's bindings deleted at once, a script editing many roles)
// is restored in full, at the API server's pace, with every Role reverted in place.
func TestBurstOfDrift(t *testing.T) {
	teams := size(100, 500) // each drifts twice: its Role edited, its RoleBinding deleted
	cl := newCluster(t, nil)
	nss := cl.teams("burst", teams)
	op := cl.operator("manager")
	rb := cl.baseline("burst")
	tr := cl.track()

	keys, since := cl.driftAll(nss)
	written := time.Since(since)
	got := cl.waitRestored(tr, keys, since, 2*time.Minute)
	mustAllInPlace(t, got)
	l := summarize(got)
	reverts := op.metric("rbac_guardrails_reverts_total")
	if int(reverts) < len(keys) {
		t.Errorf("the operator counts %v reverts for %d drifts", reverts, len(keys))
	}
	deletes := 0
	for _, ns := range nss {
		deletes += tr.eventsOf(roleKey(ns), since, func(e event) bool { return e.typ == watch.Deleted })
	}
	if deletes > 0 {
		t.Errorf("%d Roles were deleted while reverting; a revert of rules is an update in place", deletes)
	}
	if n := len(cl.journal(rb)); n > 100 {
		t.Logf("%d journal entries (pruning to journalLimit runs in the background)", n)
	}
	figures(t, fmt.Sprintf("Burst: %d drifted objects at once", len(keys)), [][2]string{
		{"drifts written by 16 clients in", ms(written)},
		{"all restored after the first drift event", ms(l.span)},
		{"restored per second", fmt.Sprintf("%.0f", float64(len(keys))/l.span.Seconds())},
		{"API writes per second (journal + object)", fmt.Sprintf("%.0f", 2*float64(len(keys))/l.span.Seconds())},
		{"per object p50 / p99 / max", ms(l.p50) + " / " + ms(l.p99) + " / " + ms(l.max)},
		{"429 answers the operator saw", fmt.Sprintf("%.0f", op.metric("rbac_guardrails_apiserver_throttled_total"))},
		{"Roles deleted (must be 0)", fmt.Sprint(deletes)},
	})
}
