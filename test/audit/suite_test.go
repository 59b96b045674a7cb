// Package audit tests the audit intake end to end: a real kube-apiserver sends its
// audit stream through its webhook backend to the operator's receiver.
package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/informers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
	"github.com/rbac-guardrails/rbac-guardrails/internal/report"
)

var (
	ctx         context.Context
	cancel      context.CancelFunc
	testEnv     *envtest.Environment
	cfg         *rest.Config
	k8sClient   client.Client
	scheme      = runtime.NewScheme()
	stopManager func()
	// intakeURL is the receiver's URL; token authenticates; caPEM verifies its certificate.
	intakeURL string
	token     = "audit-test-token"
	caPEM     []byte
	certDir   string
	// auditLogPath is where the API server also writes its audit log.
	auditLogPath string
)

// usageNamespace holds the usage ConfigMaps in these tests.
const usageNamespace = "default"

func TestAudit(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Audit Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	dir := GinkgoT().TempDir()
	certDir = filepath.Join(dir, "certs")
	Expect(os.MkdirAll(certDir, 0o700)).To(Succeed())
	caPEM = writeServingCert(certDir)
	Expect(os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600)).To(Succeed())

	// The API server needs the intake's address before it starts; the manager binds it later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	Expect(ln.Close()).To(Succeed())
	intakeURL = "https://" + addr + "/audit"
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: intake
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: apiserver
  user:
    token: %s
contexts:
- name: default
  context: {cluster: intake, user: apiserver}
current-context: default
`, intakeURL, base64.StdEncoding.EncodeToString(caPEM), token)
	webhookConfig := filepath.Join(dir, "webhook.yaml")
	Expect(os.WriteFile(webhookConfig, []byte(kubeconfig), 0o600)).To(Succeed())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	args := testEnv.ControlPlane.GetAPIServer().Configure()
	// The sample policy users are told to install.
	args.Set("audit-policy-file", filepath.Join("..", "..", "config", "audit", "policy.yaml"))
	args.Set("audit-webhook-config-file", webhookConfig)
	auditLogPath = filepath.Join(dir, "audit.log")
	args.Set("audit-log-path", auditLogPath)
	// Long enough that the watch event of a change always comes first and its audit
	// event second, so the tests exercise the late attribution path.
	args.Set("audit-webhook-batch-max-wait", "1s")
	args.Set("audit-webhook-batch-throttle-enable", "false")
	args.Set("audit-webhook-initial-backoff", "100ms")
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "set KUBEBUILDER_ASSETS, or run the tests with `make test`")
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	auditOpts = audit.Options{WebhookAddr: addr, CertDir: certDir, TokenFile: filepath.Join(dir, "token"),
		MaxBodyBytes: 4 << 20, UsageWindow: 720 * time.Hour, Namespace: usageNamespace, FlushInterval: 200 * time.Millisecond}
	stopManager = startManager(cfg)
})

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})

var auditOpts audit.Options

// startManager runs the operator as main.go does (operator.Setup) with the audit
// intake, and returns a function that stops it and waits until it has stopped.
func startManager(cfg *rest.Config) func() {
	mgr := newManager(cfg)
	setup(mgr, nil)
	return run(mgr)
}

// newManager makes a manager configured as main.go does.
func newManager(cfg *rest.Config) ctrl.Manager {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		Cache:                  informers.CacheOptions(),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	return mgr
}

// setup wires the operator on mgr with the suite's audit intake, or, when src is set,
// with the sources of an intake another manager runs.
func setup(mgr ctrl.Manager, src *report.AuditSources) {
	o := operator.DefaultOptions()
	o.ResyncPeriod = time.Hour
	o.Enforce.JournalNamespace = usageNamespace
	o.Enforce.RequireApproval = false // no admission webhook in this suite
	o.Webhooks.Enabled = false
	o.Audit = auditOpts
	o.AuditSources = src
	o.UsageRefresh = 200 * time.Millisecond
	_, err := operator.Setup(mgr, o)
	Expect(err).NotTo(HaveOccurred())
}

// newSources are sources for an intake alone (addIntake).
func newSources() *report.AuditSources {
	src := report.NewAuditSources(16, 1000, nil, nil)
	src.UsageRefresh = 200 * time.Millisecond
	return src
}

// addIntake adds the audit intakes and the usage store alone, feeding src.
func addIntake(mgr ctrl.Manager, src *report.AuditSources, o audit.Options) {
	agg, loaded, err := audit.Setup(mgr, o, src.Index)
	Expect(err).NotTo(HaveOccurred())
	src.Usage, src.UsageLoaded = agg, loaded
}

// run starts mgr and returns a function that stops it and waits until it has stopped.
func run(mgr ctrl.Manager) func() {
	mctx, mcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	return func() {
		mcancel()
		<-done
	}
}

// writeServingCert writes tls.crt and tls.key for 127.0.0.1, signed by a fresh CA,
// and returns the CA certificate in PEM.
func writeServingCert(dir string) []byte {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "audit-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	ca, err := x509.ParseCertificate(caDER)
	Expect(err).NotTo(HaveOccurred())
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}
