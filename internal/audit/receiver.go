package audit

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Defaults of the webhook receiver.
const (
	// DefaultMaxBodyBytes bounds one POSTed EventList. The API server's default
	// batch is 400 events; RBAC writes at RequestResponse are the big ones.
	DefaultMaxBodyBytes = 32 << 20
	// DefaultMaxInFlight bounds the requests decoded at once, so memory stays
	// bounded at about MaxInFlight times the body limit.
	DefaultMaxInFlight = 4
	// queueWait is how long a request waits for a slot before 429.
	queueWait = 200 * time.Millisecond
)

// Receiver is the HTTP handler of the API server's audit webhook backend: it takes
// POSTed audit.k8s.io/v1 EventLists. Requests must be authenticated by a client
// certificate the TLS layer verified against the configured CA, or by a bearer
// token. Too many concurrent requests get 429 with Retry-After (the API server's
// webhook backend retries with backoff), so a slow consumer pushes back instead of
// buffering without bound.
type Receiver struct {
	intake       *Intake
	token        []byte
	clientCerts  bool
	maxBodyBytes int64
	slots        chan struct{}
	buffers      sync.Pool
}

// ReceiverOptions configure a Receiver. At least one of Token and ClientCerts must be set.
type ReceiverOptions struct {
	// Token is the bearer token callers must present; empty disables token auth.
	Token string
	// ClientCerts accepts callers whose client certificate the TLS layer verified.
	ClientCerts  bool
	MaxBodyBytes int64
	MaxInFlight  int
}

// NewReceiver makes the handler.
func NewReceiver(in *Intake, o ReceiverOptions) (*Receiver, error) {
	if o.Token == "" && !o.ClientCerts {
		return nil, errors.New("audit webhook: no authentication configured: set --audit-webhook-client-ca or --audit-webhook-token-file")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	return &Receiver{intake: in, token: []byte(o.Token), clientCerts: o.ClientCerts,
		maxBodyBytes: o.MaxBodyBytes, slots: make(chan struct{}, o.MaxInFlight)}, nil
}

func refuse(w http.ResponseWriter, code int, reason, msg string) {
	eventsRefused.WithLabelValues(reason).Inc()
	http.Error(w, "audit webhook: "+msg, code)
}

// ServeHTTP implements the webhook backend's endpoint.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(w, http.StatusMethodNotAllowed, RefuseMethod, "POST an audit.k8s.io/v1 EventList")
		return
	}
	if !rc.authenticated(r) {
		refuse(w, http.StatusUnauthorized, RefuseUnauthenticated,
			"authenticate with a client certificate signed by the configured CA or with the bearer token")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		refuse(w, http.StatusUnsupportedMediaType, RefuseMediaType,
			fmt.Sprintf("Content-Type %q is not supported: send application/json", r.Header.Get("Content-Type")))
		return
	}
	if r.ContentLength > rc.maxBodyBytes {
		refuse(w, http.StatusRequestEntityTooLarge, RefuseTooLarge,
			fmt.Sprintf("body of %d bytes exceeds the limit of %d: lower --audit-webhook-batch-max-size", r.ContentLength, rc.maxBodyBytes))
		return
	}
	timer := time.NewTimer(queueWait)
	select {
	case rc.slots <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		w.Header().Set("Retry-After", strconv.Itoa(1))
		refuse(w, http.StatusTooManyRequests, RefuseBusy, "busy: retry later")
		return
	}
	defer func() { <-rc.slots }()

	n, code, reason, err := rc.decode(r)
	if err != nil {
		refuse(w, code, reason, err.Error())
		return
	}
	eventsReceived.WithLabelValues("webhook").Add(float64(n))
	w.WriteHeader(http.StatusOK)
}

func (rc *Receiver) authenticated(r *http.Request) bool {
	if rc.clientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	if len(rc.token) == 0 {
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), rc.token) == 1
}

// decode reads and files one EventList; on error it returns the status and the
// metric reason.
func (rc *Receiver) decode(r *http.Request) (int, int, string, error) {
	buf, _ := rc.buffers.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 0, 64<<10)
		buf = &b
	}
	defer func() {
		if cap(*buf) <= 4<<20 { // do not pin huge buffers
			*buf = (*buf)[:0]
			rc.buffers.Put(buf)
		}
	}()
	body, err := readAll(http.MaxBytesReader(nil, r.Body, rc.maxBodyBytes), *buf)
	*buf = body
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return 0, http.StatusRequestEntityTooLarge, RefuseTooLarge,
				fmt.Errorf("body exceeds the limit of %d bytes: lower --audit-webhook-batch-max-size", rc.maxBodyBytes)
		}
		return 0, http.StatusBadRequest, RefuseMalformed, fmt.Errorf("reading the body: %w", err)
	}
	list, err := DecodeEventList(body)
	if err != nil {
		return 0, http.StatusBadRequest, RefuseMalformed, err
	}
	for i := range list.Items {
		rc.intake.Process(&list.Items[i])
	}
	return len(list.Items), 0, "", nil
}

// DecodeEventList decodes an audit.k8s.io/v1 EventList; the error names what is wrong.
func DecodeEventList(body []byte) (*auditv1.EventList, error) {
	list := &auditv1.EventList{}
	if err := json.Unmarshal(body, list); err != nil {
		return nil, fmt.Errorf("body is not a JSON EventList: %w", err)
	}
	if list.APIVersion != auditv1.SchemeGroupVersion.String() || list.Kind != "EventList" {
		return nil, fmt.Errorf("apiVersion %q kind %q: want %s EventList (set the webhook's --audit-webhook-version to audit.k8s.io/v1)",
			list.APIVersion, list.Kind, auditv1.SchemeGroupVersion)
	}
	return list, nil
}

// readAll is io.ReadAll into a reusable buffer.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return b, err
		}
	}
}

// Server serves a Receiver over TLS as a manager Runnable.
type Server struct {
	Addr    string
	Handler http.Handler
	// TLS is the server's TLS configuration: certificate and, for client
	// certificates, ClientCAs with ClientAuth VerifyClientCertIfGiven.
	TLS *tls.Config
}

// Start serves until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	srv := &http.Server{Addr: s.Addr, Handler: s.Handler, TLSConfig: s.TLS,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	ln, err := tls.Listen("tcp", s.Addr, s.TLS)
	if err != nil {
		return fmt.Errorf("audit webhook: listening on %s: %w", s.Addr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		return err
	}
}

// NeedLeaderElection: only the leader keeps usage and attribution, so only it listens.
func (s *Server) NeedLeaderElection() bool { return true }
