package reliability

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator killed with SIGKILL in the middle of reverting: after a restart every
// object is back, every journal entry holds the drifted prior state, no object has
// two entries for one drift, and no binding is left deleted by a roleRef revert.
func TestKilledWhileReverting(t *testing.T) {
	const teams = 50
	cl := newCluster(t, nil)
	nss := cl.teams("kill", teams)
	op := cl.operator("manager")
	rb := cl.baseline("kill")
	tr := cl.track()

	var keys []string
	for i, ns := range nss {
		if i%2 == 0 {
			keys = append(keys, roleKey(ns))
		} else {
			keys = append(keys, bindingKey(ns))
		}
	}
	since := time.Now()
	drifting := make(chan struct{})
	go func() {
		defer close(drifting)
		cl.parallel(nss, func(ns string) error {
			if idx(nss, ns)%2 == 0 {
				return cl.tamperRole(cl.c, ns)
			}
			// roleRef is immutable: a roleRef change is a delete and a create.
			if err := cl.deleteBinding(ns); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if err := cl.c.Create(cl.ctx, declaredBinding(ns, "view-all")); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			return nil
		})
	}()
	// Kill it once it has reverted a few: some reverts done, some under way, some not begun.
	deadline := time.Now().Add(30 * time.Second)
	for tr.countRestored(keys, since) < 3 { // watched, not scraped: kill within milliseconds
		if time.Now().After(deadline) {
			t.Fatal("the operator reverted nothing within 30 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	op.Kill()
	before := float64(tr.countRestored(keys, since))
	killedAt := time.Now()
	<-drifting
	restarted := cl.operator("manager-restarted")
	got := cl.waitRestored(tr, keys, since, 2*time.Minute)
	recovered := time.Since(killedAt)
	mustAllInPlace(t, got)

	// The journal: one entry per revert of one drifted state.
	entries := cl.journal(rb)
	perObject := map[string][]string{}
	for _, cm := range entries {
		obj, action := cm.Annotations["guardrails.rbac-guardrails.io/object"], cm.Annotations["guardrails.rbac-guardrails.io/action"]
		perObject[obj] = append(perObject[obj], action)
		prior, ok := cm.Data["prior.json"]
		switch action {
		case "Update":
			var role rbacv1.Role
			if !ok || json.Unmarshal([]byte(prior), &role) != nil || len(role.Rules) != 2 {
				t.Errorf("entry %s for %s does not hold the drifted Role (two rules): %s", cm.Name, obj, prior)
			}
		case "Recreate":
			var b rbacv1.RoleBinding
			if !ok || json.Unmarshal([]byte(prior), &b) != nil || b.RoleRef.Name != "view-all" {
				t.Errorf("entry %s for %s does not hold the drifted roleRef: %s", cm.Name, obj, prior)
			}
		case "Create":
			if ok {
				t.Errorf("entry %s creates %s but records a prior state", cm.Name, obj)
			}
		default:
			t.Errorf("entry %s: unexpected action %s on %s", cm.Name, action, obj)
		}
	}
	for obj, actions := range perObject {
		// A binding may have a Create and a Recreate: the harness's delete and its create
		// with another roleRef are two drifts when the operator sees them apart, and a
		// kill between a recreate's delete and create leaves it missing.
		twoDrifts := len(actions) == 2 && contains(actions, "Recreate") && contains(actions, "Create")
		if len(actions) > 2 || (len(actions) == 2 && !twoDrifts) {
			t.Errorf("%s has journal entries %v: one drift must be journaled once", obj, actions)
		}
	}
	if len(perObject) < len(keys) {
		t.Errorf("%d of %d drifted objects have a journal entry", len(perObject), len(keys))
	}
	// Every binding is back with its declared roleRef.
	for i, ns := range nss {
		if i%2 == 1 {
			var b rbacv1.RoleBinding
			if err := cl.c.Get(cl.ctx, keyOf(ns), &b); err != nil || b.RoleRef.Name != "app" {
				t.Errorf("binding %s/app: %v, roleRef %s", ns, err, b.RoleRef.Name)
			}
		}
	}
	l := summarize(got)
	figures(t, fmt.Sprintf("SIGKILL while reverting %d drifted objects", len(keys)), [][2]string{
		{"objects restored when the kill landed", fmt.Sprintf("%.0f", before)},
		{"reverts by the restarted operator", fmt.Sprintf("%.0f", restarted.metric("rbac_guardrails_reverts_total"))},
		{"all restored, after the kill", ms(recovered)},
		{"journal entries / drifted objects with one", fmt.Sprintf("%d / %d", len(entries), len(perObject))},
		{"per object p50 / max (from its drift event)", ms(l.p50) + " / " + ms(l.max)},
	})
}

func idx(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool { return idx(list, s) >= 0 }

func keyOf(ns string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: "app"} }
