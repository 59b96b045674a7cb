package audit

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// BenchEventList is a realistic batch as the API server's webhook backend sends it
// (400 events): mostly reads and writes allowed by RBAC through a few hundred
// bindings on enough distinct objects to fill the usage cap, some allowed by other
// authorizers, and 1% RBAC writes logged with their response.
func BenchEventList(batch, seed int) []byte {
	evs := make([]auditv1.Event, 0, batch)
	now := time.Now()
	for i := range batch {
		n := seed*batch + i
		ns := fmt.Sprintf("team-%d", n%50)
		var ev auditv1.Event
		switch {
		case n%100 == 0:
			ev = withResponseRV(event(fmt.Sprint("w", n), "alice", "update", rbacGroup, "roles", ns, fmt.Sprint("role-", n%300), now), fmt.Sprint(n))
		case n%10 == 1:
			ev = event(fmt.Sprint("n", n), "system:node:n1", "get", "", "nodes", "", "n1", now)
			ev.Annotations = map[string]string{annotationDecision: decisionAllow, annotationReason: ""}
		default:
			verbs := []string{"get", "list", "watch", "update", "patch"}
			res := []string{"pods", "configmaps", "secrets", "deployments", "services", "leases"}
			ev = allowedBy(event(fmt.Sprint("r", n), fmt.Sprint("sa-", n%200), verbs[n%5], "", res[n%6], ns, fmt.Sprint("obj-", n%100000), now),
				fmt.Sprintf(`RBAC: allowed by RoleBinding "rb-%d/%s" of Role "role-%d" to ServiceAccount "sa-%d/%s"`, n%300, ns, n%300, n%200, ns))
		}
		ev.RequestURI = "/api/v1/namespaces/" + ns + "/pods/obj"
		evs = append(evs, ev)
	}
	return eventList(evs...)
}

// BenchmarkReceiver measures events ingested per second through the webhook
// handler (decode, filter, attribution, usage), all goroutines in parallel.
func BenchmarkReceiver(b *testing.B) {
	const batch = 400
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = BenchEventList(batch, i)
	}
	in := &Intake{Index: NewIndex(16, 10000, nil), Usage: NewAggregator(720*time.Hour, 50000, nil)}
	rc, err := NewReceiver(in, ReceiverOptions{Token: "t", MaxInFlight: 2 * runtime.GOMAXPROCS(0)})
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/audit", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
			i++
			if i%64 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
