package audit

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

func TestReceiver(t *testing.T) {
	idx := NewIndex(4, 100, nil)
	rc, err := NewReceiver(&Intake{Index: idx, Usage: NewAggregator(time.Hour, 100, nil)},
		ReceiverOptions{Token: "s3cret", MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	good := eventList(event("1", "alice", "update", rbacGroup, "roles", "n", "r", time.Now()))
	huge := eventList(event(strings.Repeat("x", 5000), "alice", "update", rbacGroup, "roles", "n", "r", time.Now()))
	tests := map[string]struct {
		method, ctype, auth string
		body                []byte
		chunked             bool
		code                int
		refused             string
	}{
		"accepted":                {body: good, code: 200},
		"content type parameters": {ctype: "application/json; charset=utf-8", body: good, code: 200},
		"no credentials":          {auth: "-", body: good, code: 401, refused: RefuseUnauthenticated},
		"wrong token":             {auth: "Bearer nope", body: good, code: 401, refused: RefuseUnauthenticated},
		"wrong method":            {method: http.MethodGet, code: 405, refused: RefuseMethod},
		"wrong content type":      {ctype: "application/vnd.kubernetes.protobuf", body: good, code: 415, refused: RefuseMediaType},
		"malformed JSON":          {body: []byte(`{"items": [`), code: 400, refused: RefuseMalformed},
		"not an EventList":        {body: []byte(`{"apiVersion":"v1","kind":"Pod"}`), code: 400, refused: RefuseMalformed},
		"oversized, declared":     {body: huge, code: 413, refused: RefuseTooLarge},
		"oversized, chunked":      {body: huge, chunked: true, code: 413, refused: RefuseTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/audit", bytes.NewReader(tc.body))
			if tc.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			switch tc.auth {
			case "":
				req.Header.Set("Authorization", "Bearer s3cret")
			case "-":
			default:
				req.Header.Set("Authorization", tc.auth)
			}
			var before float64
			if tc.refused != "" {
				before = testutil.ToFloat64(eventsRefused.WithLabelValues(tc.refused))
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tc.code)
			}
			if tc.refused != "" {
				if !strings.HasPrefix(rec.Body.String(), "audit webhook: ") {
					t.Errorf("refusal body %q does not say what is wrong", rec.Body)
				}
				if got := testutil.ToFloat64(eventsRefused.WithLabelValues(tc.refused)) - before; got != 1 {
					t.Errorf("refused{%s} grew by %v, want 1", tc.refused, got)
				}
			}
		})
	}
	if h := idx.History(drift.ObjectRef{Kind: "Role", Namespace: "n", Name: "r"}); len(h) != 1 || h[0].User != "alice" {
		t.Errorf("accepted writes were not recorded once: %+v", h)
	}
}

func TestReceiverBackPressure(t *testing.T) {
	rc, err := NewReceiver(&Intake{}, ReceiverOptions{Token: "t", MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	rc.slots <- struct{}{} // one request is being processed
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(eventList()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	<-rc.slots
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(eventList()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer t")
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d once the slot is free, want 200", rec.Code)
	}
	if _, err := NewReceiver(&Intake{}, ReceiverOptions{}); err == nil {
		t.Error("a receiver without authentication must not be built")
	}
}

// FuzzDecodeEventList: any body decodes or errors, never panics, and filing what
// decodes never panics either.
func FuzzDecodeEventList(f *testing.F) {
	f.Add(eventList(event("1", "alice", "update", rbacGroup, "roles", "n", "r", t0)))
	f.Add(eventList(allowedBy(event("2", "bob", "list", "", "pods", "n", "", t0),
		`RBAC: allowed by RoleBinding "view/n" of ClusterRole "view" to User "bob"`)))
	f.Add([]byte(`{"apiVersion":"audit.k8s.io/v1","kind":"EventList","items":[{"stage":"ResponseComplete","objectRef":{}}]}`))
	in := &Intake{Index: NewIndex(2, 16, nil), Usage: NewAggregator(time.Hour, 16, nil)}
	f.Fuzz(func(t *testing.T, body []byte) {
		list, err := DecodeEventList(body)
		if err != nil {
			return
		}
		for i := range list.Items {
			in.Process(&list.Items[i])
		}
	})
}
