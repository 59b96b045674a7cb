package reliability

import (
	"slices"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

// event is one watch event on a Role or RoleBinding, stamped on arrival.
type event struct {
	at  time.Time
	typ watch.EventType
	obj client.Object
}

// tracker records every Role and RoleBinding event on one watch stream each, so that
// a drift's latency is from its watch event to the watch event that restores it.
type tracker struct {
	mu     sync.Mutex
	events map[string][]event // by "Role ns/name" or "RoleBinding ns/name"
}

func (cl *cluster) track() *tracker {
	cl.t.Helper()
	tr := &tracker{events: map[string][]event{}}
	for _, list := range []client.ObjectList{&rbacv1.RoleList{}, &rbacv1.RoleBindingList{}} {
		if err := harness.Watch(cl.ctx, cl.c, list, tr.on); err != nil {
			cl.t.Fatal(err)
		}
	}
	return tr
}

func (tr *tracker) on(at time.Time, typ watch.EventType, obj client.Object) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	k := key(obj)
	tr.events[k] = append(tr.events[k], event{at, typ, obj})
}

func key(obj client.Object) string {
	kind := "Role"
	if _, ok := obj.(*rbacv1.RoleBinding); ok {
		kind = "RoleBinding"
	}
	return kind + " " + obj.GetNamespace() + "/" + obj.GetName()
}

func roleKey(ns string) string    { return "Role " + ns + "/app" }
func bindingKey(ns string) string { return "RoleBinding " + ns + "/app" }

// onBaseline says whether an event leaves the object as the baseline declares it.
func onBaseline(e event) bool {
	if e.typ == watch.Deleted {
		return false
	}
	switch o := e.obj.(type) {
	case *rbacv1.Role:
		return len(o.Rules) == 1 && slices.Equal(o.Rules[0].Resources, readPods.Resources)
	case *rbacv1.RoleBinding:
		return o.RoleRef.Name == "app" && o.RoleRef.Kind == "Role" && len(o.Subjects) == 1 && o.Subjects[0] == devs
	}
	return false
}

// restore is one drift and when it was put back.
type restore struct {
	key              string
	drifted, settled time.Time // arrival of the drift's and the restoring event
	inPlace          bool      // the object kept its UID (always, for a Role)
}

func (r restore) latency() time.Duration { return r.settled.Sub(r.drifted) }

// restored returns, for each key, the first drift after since and the event that put
// it back; ok is false while one is not back yet.
func (tr *tracker) restored(keys []string, since time.Time) ([]restore, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make([]restore, 0, len(keys))
	for _, k := range keys {
		evs := tr.events[k]
		i := slices.IndexFunc(evs, func(e event) bool { return e.at.After(since) && !onBaseline(e) })
		if i < 0 {
			return out, false
		}
		j := slices.IndexFunc(evs[i:], onBaseline)
		if j < 0 {
			return out, false
		}
		r := restore{key: k, drifted: evs[i].at, settled: evs[i+j].at, inPlace: true}
		for _, e := range evs[i : i+j+1] {
			if e.typ == watch.Deleted && evs[i].typ != watch.Deleted {
				r.inPlace = false
			}
		}
		if i > 0 && evs[i-1].obj.GetUID() != evs[i+j].obj.GetUID() && evs[i].typ != watch.Deleted {
			r.inPlace = false
		}
		out = append(out, r)
	}
	return out, true
}

// waitRestored waits until every key's first drift after since is restored.
func (cl *cluster) waitRestored(tr *tracker, keys []string, since time.Time, timeout time.Duration) []restore {
	cl.t.Helper()
	var got []restore
	cl.eventually(timeout, "every drift is restored", func() bool {
		var ok bool
		got, ok = tr.restored(keys, since)
		return ok
	})
	return got
}

// eventsOf counts key's events after since that match.
func (tr *tracker) eventsOf(key string, since time.Time, match func(event) bool) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, e := range tr.events[key] {
		if e.at.After(since) && match(e) {
			n++
		}
	}
	return n
}

// latencies summarises restores: p50, p99, max and the span from the first drift to
// the last restore.
type latencies struct{ p50, p99, max, span time.Duration }

func summarize(rs []restore) latencies {
	if len(rs) == 0 {
		return latencies{}
	}
	ds := make([]time.Duration, len(rs))
	first, last := rs[0].drifted, rs[0].settled
	for i, r := range rs {
		ds[i] = r.latency()
		if r.drifted.Before(first) {
			first = r.drifted
		}
		if r.settled.After(last) {
			last = r.settled
		}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return latencies{p50: at(0.50), p99: at(0.99), max: ds[len(ds)-1], span: last.Sub(first)}
}

func ms(d time.Duration) string { return (d.Round(100 * time.Microsecond)).String() }

func mustAllInPlace(t *testing.T, rs []restore) {
	t.Helper()
	for _, r := range rs {
		if !r.inPlace && r.key[:4] == "Role" && r.key[:11] != "RoleBinding" {
			t.Errorf("%s was deleted and recreated instead of reverted in place", r.key)
		}
	}
}

// countRestored counts the keys whose first drift after since is restored.
func (tr *tracker) countRestored(keys []string, since time.Time) int {
	n := 0
	for _, k := range keys {
		if _, ok := tr.restored([]string{k}, since); ok {
			n++
		}
	}
	return n
}
