package audit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Options configure the audit intakes and the usage store (see docs/audit.md).
type Options struct {
	// WebhookAddr is where the webhook receiver listens (HTTPS); empty disables it.
	WebhookAddr string
	// CertDir holds the serving certificate, tls.crt and tls.key (reloaded on change).
	CertDir string
	// ClientCAFile, when set, accepts callers presenting a client certificate it signed.
	ClientCAFile string
	// TokenFile, when set, holds the bearer token callers may present instead.
	TokenFile string
	// MaxBodyBytes bounds one POST; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// LogPath is the API server's audit log to follow; empty disables it.
	LogPath string
	// UsageWindow is how far back usage counts.
	UsageWindow time.Duration
	// MaxAccesses bounds the distinct accesses kept; 50000 when zero.
	MaxAccesses int
	// Namespace holds the usage ConfigMaps and the log follower's checkpoint.
	Namespace string
	// FlushInterval is how often usage, then the log follower's checkpoint, is written
	// to the cluster; one minute when zero.
	FlushInterval time.Duration

	// ServiceName, when set, is the selector-less Service in ServiceNamespace whose
	// EndpointSlice the leader points at PodIP and the WebhookAddr port (see Endpoint).
	ServiceName      string
	ServiceNamespace string
	PodName          string
	PodIP            string
}

// Enabled reports whether an intake is configured. A ServiceName alone counts, so
// that Setup reports the missing --audit-webhook-bind-address instead of ignoring it.
func (o *Options) Enabled() bool {
	return o.WebhookAddr != "" || o.LogPath != "" || o.ServiceName != ""
}

// Setup adds the configured intakes, feeding index, the usage store and, with
// ServiceName, the leader's Endpoint to mgr. It returns the usage aggregator and a
// channel closed once stored usage is loaded.
func Setup(mgr manager.Manager, o Options, index *Index) (*Aggregator, <-chan struct{}, error) {
	if o.UsageWindow <= 0 {
		return nil, nil, fmt.Errorf("--usage-window is %s: set a positive duration such as 720h", o.UsageWindow)
	}
	ep, err := NewEndpoint(mgr.GetClient(), o)
	if err != nil {
		return nil, nil, err
	}
	if o.MaxAccesses <= 0 {
		o.MaxAccesses = 50000
	}
	agg := NewAggregator(o.UsageWindow, o.MaxAccesses, nil)
	loaded := make(chan struct{})
	store := &Store{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: o.Namespace, Usage: agg,
		Interval: o.FlushInterval, Loaded: loaded}
	if err := mgr.Add(store); err != nil {
		return nil, nil, err
	}
	in := &Intake{Index: index, Usage: agg}
	if o.WebhookAddr != "" {
		srv, err := webhookServer(mgr, o, in)
		if err != nil {
			return nil, nil, err
		}
		if err := mgr.Add(srv); err != nil {
			return nil, nil, err
		}
	}
	if ep != nil {
		if err := mgr.Add(ep); err != nil {
			return nil, nil, err
		}
	}
	if o.LogPath != "" {
		store.Follower = &Follower{Path: o.LogPath, Intake: in, Checkpoints: &ConfigMapCheckpoints{
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: o.Namespace, Name: CheckpointConfigMap}}
		if err := mgr.Add(store.Follower); err != nil {
			return nil, nil, err
		}
	}
	return agg, loaded, nil
}

func webhookServer(mgr manager.Manager, o Options, in *Intake) (*Server, error) {
	ro := ReceiverOptions{MaxBodyBytes: o.MaxBodyBytes}
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--audit-webhook-token-file: %w", err)
		}
		if ro.Token = strings.TrimSpace(string(b)); ro.Token == "" {
			return nil, fmt.Errorf("--audit-webhook-token-file %s is empty: write the bearer token the API server presents", o.TokenFile)
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--audit-webhook-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--audit-webhook-client-ca %s holds no PEM certificate", o.ClientCAFile)
		}
		// IfGiven, not Require: a caller may use the token instead; the handler
		// refuses requests that have neither.
		cfg.ClientCAs, cfg.ClientAuth, ro.ClientCerts = pool, tls.VerifyClientCertIfGiven, true
	}
	if o.CertDir == "" {
		return nil, errors.New("--audit-webhook-cert-dir is empty: the webhook receiver serves HTTPS only; point it at a directory with tls.crt and tls.key")
	}
	cw, err := certwatcher.New(filepath.Join(o.CertDir, "tls.crt"), filepath.Join(o.CertDir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("--audit-webhook-cert-dir: %w", err)
	}
	if err := mgr.Add(cw); err != nil {
		return nil, err
	}
	cfg.GetCertificate = cw.GetCertificate
	rc, err := NewReceiver(in, ro)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/audit", rc)
	return &Server{Addr: o.WebhookAddr, Handler: mux, TLS: cfg}, nil
}
