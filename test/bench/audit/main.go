// Command audit measures the audit webhook receiver end to end: it serves the
// receiver over HTTPS on localhost, POSTs EventLists as the API server's webhook
// backend does (batches of 400, keep-alive connections), and prints events ingested
// per second, peak Go heap and peak RSS. Client and server share the process, so
// the figure includes the sender's TLS work: a conservative bound.
//
//	GOMAXPROCS=2 go run ./test/bench/audit -duration 20s
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
)

func main() {
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	senders := flag.Int("senders", 4, "concurrent connections, as the API server's parallel batches")
	batch := flag.Int("batch", 400, "events per EventList (the API server's default --audit-webhook-batch-max-size)")
	flag.Parse()
	if err := run(*duration, *senders, *batch); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(duration time.Duration, senders, batch int) error {
	cert, pool, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	index := audit.NewIndex(16, 10000, nil)
	usage := audit.NewAggregator(720*time.Hour, 50000, nil)
	rc, err := audit.NewReceiver(&audit.Intake{Index: index, Usage: usage}, audit.ReceiverOptions{Token: "t"})
	if err != nil {
		return err
	}
	srv := &audit.Server{Addr: addr, Handler: rc, TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Start(ctx) }()

	bodies := make([][]byte, 32)
	for i := range bodies {
		bodies[i] = eventList(batch, i)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: senders}}
	post := func(body []byte) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer t")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := post(bodies[0]); err == nil {
			break
		} else if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}

	var sent, busy atomic.Int64
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
			}
		}
	}()
	start := time.Now()
	end := start.Add(duration)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; time.Now().Before(end); i += senders {
				body := bodies[i%len(bodies)]
				if round := i / len(bodies); round > 0 {
					// New object names each round, so distinct accesses keep growing
					// past the usage cap and the bound is what is measured.
					body = bytes.ReplaceAll(body, []byte(`"obj-`), fmt.Appendf(nil, `"o%d-`, round))
				}
				code, err := post(body)
				switch {
				case err != nil:
					fmt.Fprintln(os.Stderr, err)
					return
				case code == http.StatusTooManyRequests:
					busy.Add(1)
					time.Sleep(100 * time.Millisecond) // as the webhook backend backs off
				case code == http.StatusOK:
					sent.Add(int64(batch))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	fmt.Printf("GOMAXPROCS=%d senders=%d batch=%d duration=%s\n", runtime.GOMAXPROCS(0), senders, batch, elapsed.Round(time.Millisecond))
	fmt.Printf("events ingested: %d (%.0f events/s), batches refused busy (429): %d\n", sent.Load(), float64(sent.Load())/elapsed.Seconds(), busy.Load())
	fmt.Printf("attribution index objects: %d; usage accesses kept: %d (cap 50000)\n", index.Len(), usage.Snapshot().Accesses())
	fmt.Printf("peak Go heap in use: %.1f MiB; peak RSS: %s\n", float64(peakHeap.Load())/(1<<20), vmHWM())
	return nil
}

// eventList is a batch of mostly RBAC-allowed requests through 300 bindings, some
// allowed by other authorizers, and 1% RBAC writes logged with their response.
func eventList(batch, seed int) []byte {
	now := metav1.NewMicroTime(time.Now())
	evs := make([]auditv1.Event, 0, batch)
	verbs := []string{"get", "list", "watch", "update", "patch"}
	res := []string{"pods", "configmaps", "secrets", "deployments", "services", "leases"}
	for i := range batch {
		n := seed*batch + i
		ns := fmt.Sprintf("team-%d", n%50)
		ev := auditv1.Event{Level: auditv1.LevelMetadata, AuditID: types.UID(fmt.Sprint(n)), Stage: auditv1.StageResponseComplete,
			RequestURI: "/api/v1/namespaces/" + ns + "/pods/obj", Verb: verbs[n%5],
			User:      authnv1.UserInfo{Username: fmt.Sprintf("system:serviceaccount:%s:sa-%d", ns, n%200), Groups: []string{"system:serviceaccounts", "system:authenticated"}},
			SourceIPs: []string{"10.0.0.1"}, UserAgent: "controller/v1.0", ResponseStatus: &metav1.Status{Code: 200},
			ObjectRef:                &auditv1.ObjectReference{Resource: res[n%6], Namespace: ns, Name: fmt.Sprint("obj-", n%100000), APIVersion: "v1"},
			RequestReceivedTimestamp: now, StageTimestamp: now,
			Annotations: map[string]string{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": fmt.Sprintf(
				`RBAC: allowed by RoleBinding "rb-%d/%s" of Role "role-%d" to ServiceAccount "sa-%d/%s"`, n%300, ns, n%300, n%200, ns)}}
		switch {
		case n%100 == 0:
			ev.Level, ev.Verb = auditv1.LevelRequestResponse, "update"
			ev.ObjectRef = &auditv1.ObjectReference{APIGroup: "rbac.authorization.k8s.io", Resource: "roles", Namespace: ns, Name: fmt.Sprint("role-", n%300)}
			ev.ResponseObject = &k8sruntime.Unknown{Raw: []byte(`{"kind":"Role","metadata":{"resourceVersion":"` + fmt.Sprint(n) + `"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`)}
		case n%10 == 1:
			ev.Annotations["authorization.k8s.io/reason"] = ""
		}
		evs = append(evs, ev)
	}
	b, err := json.Marshal(auditv1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "EventList"}, Items: evs})
	if err != nil {
		panic(err)
	}
	return b
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, pool, nil
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
