package reliability

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

// The API server, then etcd, stopped for 10 s and started again: drift made after
// recovery is reverted, and the figures say how long recovery took.
func TestControlPlaneRestart(t *testing.T) {
	for _, tc := range []struct{ name, process string }{{"kube-apiserver", "kube-apiserver"}, {"etcd", "etcd"}} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, nil)
			nss := cl.teams("restart", 3)
			cl.operator("manager")
			cl.baseline("restart")
			tr := cl.track()

			marker := "--secure-port=" + mustURL(t, cl.cp.Cfg.Host).Port()
			if tc.process == "etcd" {
				marker = "--listen-client-urls=" + cl.cp.Env.ControlPlane.Etcd.URL.String()
			}
			const down = 10 * time.Second
			p, err := harness.Restart(tc.process, marker, down)
			if err != nil {
				t.Fatal(err)
			}
			// The API server must stop before the etcd it talks to, or its shutdown hangs.
			t.Cleanup(func() {
				_ = cl.cp.Env.ControlPlane.APIServer.Stop()
				p.Stop()
			})
			back := time.Now()
			// The first write that succeeds after the restart is the drift.
			cl.eventually(time.Minute, "the API server serves writes again", func() bool { return cl.tamperRole(cl.c, nss[0]) == nil })
			serving := time.Since(back)
			got := cl.waitRestored(tr, []string{roleKey(nss[0])}, back, 2*time.Minute)
			// And the next drift, once everything has settled.
			since := time.Now()
			if err := cl.tamperRole(cl.c, nss[1]); err != nil {
				t.Fatal(err)
			}
			next := cl.waitRestored(tr, []string{roleKey(nss[1])}, since, time.Minute)
			figures(t, fmt.Sprintf("%s stopped for %s and restarted", tc.name, down), [][2]string{
				{"API server serving writes again after the restart", ms(serving)},
				{"first drift after recovery reverted in", ms(got[0].latency())},
				{"next drift reverted in", ms(next[0].latency())},
			})
		})
	}
}

// Watches the API server ends every few seconds (--min-request-timeout=5) and an
// idle stretch: drift after it is still reverted at once.
func TestExpiredWatches(t *testing.T) {
	idle := size(15*time.Second, 60*time.Second)
	cl := newCluster(t, func(env *envtest.Environment) {
		env.ControlPlane.GetAPIServer().Configure().Set("min-request-timeout", "5")
	})
	nss := cl.teams("watch", 2)
	cl.operator("manager")
	cl.baseline("watch")
	tr := cl.track()
	time.Sleep(idle)
	since := time.Now()
	if err := cl.tamperRole(cl.c, nss[0]); err != nil {
		t.Fatal(err)
	}
	if err := cl.deleteBinding(nss[1]); err != nil {
		t.Fatal(err)
	}
	got := cl.waitRestored(tr, []string{roleKey(nss[0]), bindingKey(nss[1])}, since, time.Minute)
	l := summarize(got)
	figures(t, fmt.Sprintf("Watches closed every 5-10 s by the API server, then %s idle", idle), [][2]string{
		{"Role edit reverted in", ms(got[0].latency())},
		{"deleted RoleBinding restored in", ms(got[1].latency())},
		{"max", ms(l.max)},
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
