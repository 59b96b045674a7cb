package reliability

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// A writer that re-applies the same drift every 200 ms is reverted every time, and
// is reported by name, while other objects are still reverted as fast as ever.
func TestRepeatedDrift(t *testing.T) {
	d := size(10*time.Second, 60*time.Second)
	cl := newCluster(t, nil)
	nss := cl.teams("repeat", 11)
	op := cl.operator("manager")
	rb := cl.baseline("repeat")
	tr := cl.track()
	fought, others := nss[0], nss[1:]

	requestsBefore := op.metric("rest_client_requests_total")
	since := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	drifts := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			role := &rbacv1.Role{}
			if cl.c.Get(cl.ctx, client.ObjectKey{Namespace: fought, Name: "app"}, role) != nil || len(role.Rules) != 1 {
				continue // not reverted yet: there is nothing to drift
			}
			role.Rules = append(role.Rules, readSecrets)
			if cl.c.Update(cl.ctx, role) == nil {
				drifts++
			}
		}
	})
	// Meanwhile one other Role a second is tampered with once.
	var sideKeys []string
	var sideSince []time.Time
	for i := 0; time.Since(since) < d; i++ {
		time.Sleep(time.Second)
		ns := others[i%len(others)]
		if len(sideKeys) >= len(others) {
			continue
		}
		sideSince = append(sideSince, time.Now())
		if err := cl.tamperRole(cl.c, ns); err != nil {
			t.Fatal(err)
		}
		sideKeys = append(sideKeys, roleKey(ns))
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(since)
	requests := op.metric("rest_client_requests_total") - requestsBefore

	// Every drift of the fought Role was reverted: as many restoring events as drifts.
	key := roleKey(fought)
	cl.eventually(30*time.Second, "the last drift is reverted", func() bool {
		return tr.eventsOf(key, since, onBaseline) >= drifts
	})
	reverts := tr.eventsOf(key, since, onBaseline)
	if reverts != drifts {
		t.Errorf("%d drifts, %d reverts: every repeated change must be reverted once", drifts, reverts)
	}
	var side []restore
	for i, k := range sideKeys {
		side = append(side, cl.waitRestored(tr, []string{k}, sideSince[i], 30*time.Second)...)
	}
	sl := summarize(side)

	cl.eventually(10*time.Second, "Enforced is RevertLoopDetected", func() bool {
		return cl.c.Get(cl.ctx, client.ObjectKeyFromObject(rb), rb) == nil &&
			conditionReason(rb, v1alpha1.ConditionEnforced) == v1alpha1.ReasonRevertLoopDetected
	})
	msg := meta.FindStatusCondition(rb.Status.Conditions, v1alpha1.ConditionEnforced).Message
	if !strings.Contains(msg, fought+"/app") || !strings.Contains(msg, "reverted every time") || !strings.Contains(msg, "field manager") {
		t.Errorf("the condition does not name the object, the writer and the decision: %q", msg)
	}
	perMinute := float64(reverts) / elapsed.Minutes()
	figures(t, fmt.Sprintf("A writer re-applying one drift every 200 ms for %s", d), [][2]string{
		{"drifts made / reverted", fmt.Sprintf("%d / %d", drifts, reverts)},
		{"reverts per minute", fmt.Sprintf("%.0f", perMinute)},
		{"Enforced condition", v1alpha1.ReasonRevertLoopDetected + ": " + trim(msg, 160)},
		{"operator's API requests per second", fmt.Sprintf("%.1f", requests/elapsed.Seconds())},
		{fmt.Sprintf("other Roles tampered meanwhile (%d): revert p50 / max", len(side)), ms(sl.p50) + " / " + ms(sl.max)},
	})
}

func conditionReason(rb *v1alpha1.RoleBaseline, typ string) string {
	if c := meta.FindStatusCondition(rb.Status.Conditions, typ); c != nil {
		return c.Reason
	}
	return ""
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
