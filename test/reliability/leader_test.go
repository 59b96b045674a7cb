package reliability

import (
	"strconv"

	"os"
	"strings"
	"testing"
	"time"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

// Two replicas with leader election; the leader is killed with SIGKILL (it cannot
// release its lease): the standby takes over and reverts, and nothing is reverted twice.
func TestLeaderKilled(t *testing.T) {
	cl := newCluster(t, nil)
	nss := cl.teams("leader", 2)
	args := []string{"--leader-elect", "--leader-election-namespace=default"}
	// On one host the replicas need their own webhook ports; the API server calls a's.
	other, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	a, b := cl.operator("replica-a", args...), cl.operator("replica-b", append(args, "--webhook-port="+strconv.Itoa(other))...)
	rb := cl.baseline("leader")
	tr := cl.track()

	leader, standby := a, b
	cl.eventually(time.Minute, "a replica leads", func() bool {
		switch {
		case acquired(a):
			return true
		case acquired(b):
			leader, standby = b, a
			return true
		}
		return false
	})
	leader.Kill()
	killed := time.Now()
	if err := cl.tamperRole(cl.c, nss[0]); err != nil {
		t.Fatal(err)
	}
	got := cl.waitRestored(tr, []string{roleKey(nss[0])}, killed, 2*time.Minute)
	takeover := got[0].settled.Sub(killed)
	// Once the new leader reverts, a drift is reverted at once again, and only once.
	since := time.Now()
	if err := cl.deleteBinding(nss[1]); err != nil {
		t.Fatal(err)
	}
	next := cl.waitRestored(tr, []string{bindingKey(nss[1])}, since, time.Minute)
	time.Sleep(2 * time.Second)
	if n := tr.eventsOf(roleKey(nss[0]), killed, onBaseline); n != 1 {
		t.Errorf("the Role was reverted %d times, want once", n)
	}
	if n := len(cl.journal(rb)); n != 2 {
		t.Errorf("%d journal entries, want 2 (one per drift)", n)
	}
	if !acquired(standby) {
		t.Error("the standby never logged acquiring the lease")
	}
	figures(t, "Leader killed with SIGKILL, two replicas, default lease (15 s)", [][2]string{
		{"drift made at the kill reverted after", ms(takeover)},
		{"next drift reverted in", ms(next[0].latency())},
	})
}

// acquired reports whether a replica's log says it became the leader.
func acquired(o *operator) bool {
	data, err := os.ReadFile(o.Log)
	return err == nil && strings.Contains(string(data), "Successfully acquired lease")
}
