package reliability

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

// Every object under one baseline drifted at once: status stays small, events stay
// few, memory stays bounded, and everything converges.
func TestEverythingDrifted(t *testing.T) {
	teams := size(500, 10000) // a Role and a RoleBinding each: 1,000 or 20,000 drifted objects
	cl := newCluster(t, nil)
	nss := cl.teams("scale", teams)
	op := cl.operator("manager")
	rb := cl.baseline("scale")
	tr := cl.track()
	keys, since := cl.driftAll(nss)
	got := cl.waitRestored(tr, keys, since, size(2*time.Minute, 15*time.Minute))
	l := summarize(got)
	mem, err := harness.MemoryOf(op.Cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	cl.eventually(time.Minute, "the baseline is InSync again", func() bool {
		return cl.c.Get(cl.ctx, client.ObjectKeyFromObject(rb), rb) == nil &&
			meta.IsStatusConditionTrue(rb.Status.Conditions, v1alpha1.ConditionInSync)
	})
	largest := 0
	if err := cl.c.Get(cl.ctx, client.ObjectKeyFromObject(rb), rb); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(rb)
	largest = len(data)
	var evs eventsv1.EventList
	if err := cl.c.List(cl.ctx, &evs, client.InNamespace("")); err != nil {
		t.Fatal(err)
	}
	emitted := 0
	for _, e := range evs.Items {
		if e.ReportingController == "rbac-guardrails" {
			emitted++
		}
	}
	if largest > 256<<10 {
		t.Errorf("the baseline is %d bytes: status must stay far below etcd's object limit", largest)
	}
	figures(t, fmt.Sprintf("%d drifted objects under one baseline", len(keys)), [][2]string{
		{"all restored after the first drift event", ms(l.span)},
		{"restored per second", fmt.Sprintf("%.0f", float64(len(keys))/l.span.Seconds())},
		{"per object p50 / p99 / max", ms(l.p50) + " / " + ms(l.p99) + " / " + ms(l.max)},
		{"RoleBaseline size after converging", fmt.Sprintf("%d bytes", largest)},
		{"events in the cluster", fmt.Sprint(emitted)},
		{"manager RSS / peak", fmt.Sprintf("%.0f / %.0f MB", harness.MB(mem.RSS), harness.MB(mem.HWM))},
		{"429 answers the operator saw", fmt.Sprintf("%.0f", op.metric("rbac_guardrails_apiserver_throttled_total"))},
	})
}
