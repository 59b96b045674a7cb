// Command admission measures what the admission webhook adds to an RBAC write through
// a real kube-apiserver: the latency of the same write with the webhook configuration
// installed and removed, interleaved in rounds so machine load hits both alike.
//
// It starts an envtest control plane with the configuration make manifests generates
// (config/webhook, rewritten by envtest to a local server with local certificates),
// runs the controllers and the webhook server in process as main.go wires them, fills
// the cluster with N RBAC objects in 200 namespaces and B baselines (baseline k selects
// namespaces 2k and 2k+1 and declares a Role and RoleBinding "app" there; even ones
// Enforce, odd ones Audit; undeclared objects reported), and waits until every baseline
// is evaluated. A user who is not exempt (cluster-admin through a binding, not
// system:masters) then patches the declared Role "app" in the baselines' namespaces,
// one at a time: a label change, which the concerned baseline previews in full and
// which passes.
// Latency is the client's round trip of the update.
//
// Run from the repository root:
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-assets) go run ./test/bench/admission -objects 20000
//
// It prints a Markdown table on stdout and progress on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/informers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	guardwebhook "github.com/rbac-guardrails/rbac-guardrails/internal/webhook"
)

const namespaces = 200

var (
	scheme    = runtime.NewScheme()
	readPods  = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}
	fillRules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list"}}}
)

func main() {
	objects := flag.Int("objects", 20000, "RBAC objects to create (besides the bootstrap RBAC).")
	baselines := flag.Int("baselines", 100, "RoleBaselines to create (at most 100: two namespaces each).")
	writes := flag.Int("writes", 200, "Timed writes per round and setting.")
	rounds := flag.Int("rounds", 5, "Rounds; each times writes with the webhook on, then off.")
	workers := flag.Int("workers", 8, "Concurrent creates while filling the cluster.")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *objects, min(*baselines, namespaces/2), *writes, *rounds, *workers)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "admission:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func nsName(i int) string { return fmt.Sprintf("bench-%03d", i) }

// counter counts the RBAC webhook's calls, to show that "off" really is off.
type counter struct {
	p     guardwebhook.Previewer
	calls atomic.Int64
}

func (c *counter) Preview(obj client.Object, deleted bool) []registry.Verdict {
	c.calls.Add(1)
	return c.p.Preview(obj, deleted)
}

func run(ctx context.Context, objects, baselines, writes, rounds, workers int) error {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("config", "webhook")}},
	}
	progress("starting etcd and kube-apiserver")
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane (run from the repository root with KUBEBUILDER_ASSETS set): %w", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			progress("stopping the control plane: %v", err)
		}
	}()
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	calls, stopManager, err := startManager(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer stopManager()

	progress("creating %d namespaces and %d RBAC objects", namespaces, objects)
	start := time.Now()
	if err := populate(ctx, admin, objects, workers); err != nil {
		return err
	}
	progress("populated in %s; creating %d baselines", time.Since(start).Round(time.Second), baselines)
	if err := createBaselines(ctx, admin, baselines); err != nil {
		return err
	}
	writer, err := nonExemptUser(ctx, env, admin)
	if err != nil {
		return err
	}

	vwc := env.WebhookInstallOptions.ValidatingWebhooks[0].DeepCopy()
	lat := map[bool][]time.Duration{}
	seq := 0
	for r := range rounds {
		for _, on := range []bool{true, false} {
			if err := setWebhook(ctx, admin, writer, vwc, on, calls); err != nil {
				return err
			}
			before := calls.calls.Load()
			for range writes {
				d, err := timedWrite(ctx, writer, seq, baselines)
				if err != nil {
					return err
				}
				seq++
				lat[on] = append(lat[on], d)
			}
			if got := calls.calls.Load() - before; on && got < int64(writes) || !on && got != 0 {
				return fmt.Errorf("round %d, webhook on=%v: the webhook was called %d times for %d writes", r, on, got, writes)
			}
		}
		progress("round %d/%d done", r+1, rounds)
	}
	report(objects, baselines, lat)
	return nil
}

// startManager runs the operator as main.go wires it (operator.Setup), its RBAC
// webhook wrapped to count its calls.
func startManager(ctx context.Context, cfg *rest.Config, env *envtest.Environment) (*counter, func(), error) {
	wo := &env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   informers.CacheOptions(),
		WebhookServer: webhook.NewServer(webhook.Options{Host: wo.LocalServingHost, Port: wo.LocalServingPort,
			CertDir: wo.LocalServingCertDir}),
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, nil, err
	}
	o := operator.DefaultOptions()
	o.Enforce.JournalNamespace = "default"
	o.Webhooks.Enabled = false // registered below, behind the counter
	op, err := operator.Setup(mgr, o)
	if err != nil {
		return nil, nil, err
	}
	c := &counter{p: op.Registry}
	guardwebhook.Register(mgr, c, guardwebhook.Options{Exemptions: o.Webhooks.Exemptions()})
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	return c, func() {
		cancel()
		if err := <-done; err != nil {
			progress("manager: %v", err)
		}
	}, nil
}

func populate(ctx context.Context, c client.Client, objects, workers int) error {
	var objs []client.Object
	for i := range namespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}})
	}
	if err := createAll(ctx, c, objs, workers); err != nil {
		return err
	}
	objs = objs[:0]
	for i := range namespaces {
		ns := nsName(i)
		objs = append(objs, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Rules: readPods},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("team-%02d", i/2)}}})
	}
	rest := max(0, objects-len(objs))
	for i := range rest / 20 {
		name := fmt.Sprintf("filler-%05d", i)
		objs = append(objs, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: fillRules},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("user-%05d", i)}}})
	}
	rest -= 2 * (rest / 20)
	for i := range rest / 2 {
		ns, name := nsName(i%namespaces), fmt.Sprintf("filler-%05d", i)
		objs = append(objs, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: fillRules},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("user-%05d", i)}}})
	}
	return createAll(ctx, c, objs, workers)
}

func createAll(ctx context.Context, c client.Client, objs []client.Object, workers int) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(objs) || ctx.Err() != nil {
					return
				}
				if err := c.Create(ctx, objs[i]); err != nil && !apierrors.IsAlreadyExists(err) {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(first, ctx.Err())
}

func createBaselines(ctx context.Context, c client.Client, n int) error {
	var names []string
	for k := range n {
		mode := v1alpha1.ModeEnforce
		if k%2 == 1 {
			mode = v1alpha1.ModeAudit
		}
		rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%02d", k)}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: mode, Unmanaged: v1alpha1.UnmanagedReport, Scope: v1alpha1.Scope{Namespaces: []string{nsName(2 * k), nsName(2*k + 1)}},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "app", Rules: []v1alpha1.PolicyRule{{APIGroups: []string{""},
				Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}}},
			Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "app", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "app"},
				Subjects: []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: v1alpha1.RBACGroup, Name: fmt.Sprintf("team-%02d", k)}}}}}}
		if err := c.Create(ctx, rb); err != nil {
			return err
		}
		names = append(names, rb.Name)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for _, name := range names {
		for {
			rb := &v1alpha1.RoleBaseline{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, rb); err != nil {
				return err
			}
			if rb.Status.ObservedGeneration == rb.Generation && len(rb.Status.Conditions) > 0 {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("baseline %s not evaluated in time", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// nonExemptUser is a cluster-admin through a binding, not through system:masters.
func nonExemptUser(ctx context.Context, env *envtest.Environment, admin client.Client) (client.Client, error) {
	user, err := env.AddUser(envtest.User{Name: "bench-writer", Groups: []string{"bench"}}, nil)
	if err != nil {
		return nil, err
	}
	if err := admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bench-writer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bench-writer"}}}); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(user.Config())
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit in the timings
	return client.New(cfg, client.Options{Scheme: scheme})
}

// setWebhook installs or removes the webhook configuration and waits until the API
// server acts on it: a probe write reaches the webhook exactly when it is on.
func setWebhook(ctx context.Context, admin, writer client.Client, vwc *admissionregv1.ValidatingWebhookConfiguration, on bool, calls *counter) error {
	cur := &admissionregv1.ValidatingWebhookConfiguration{}
	err := admin.Get(ctx, client.ObjectKey{Name: vwc.Name}, cur)
	switch {
	case on && apierrors.IsNotFound(err):
		fresh := vwc.DeepCopy()
		fresh.ResourceVersion, fresh.UID = "", ""
		err = admin.Create(ctx, fresh)
	case !on && err == nil:
		err = admin.Delete(ctx, cur)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for probe := 0; ; probe++ {
		before := calls.calls.Load()
		if _, err := timedWrite(ctx, writer, 1_000_000+probe, 1); err != nil {
			return err
		}
		if reached := calls.calls.Load() > before; reached == on {
			// Settled; a few more probes so the API server's webhook client is warm.
			for i := range 10 {
				if _, err := timedWrite(ctx, writer, 2_000_000+i, 1); err != nil {
					return err
				}
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// timedWrite changes a label on the declared Role "app" in a namespace baseline
// i/2 selects, and returns the round trip.
func timedWrite(ctx context.Context, c client.Client, i, baselines int) (time.Duration, error) {
	ns := nsName(i % (2 * baselines))
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}
	patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{"bench-write":"w%d"}}}`, i))
	start := time.Now()
	err := c.Patch(ctx, role, client.RawPatch("application/merge-patch+json", patch))
	return time.Since(start), err
}

func report(objects, baselines int, lat map[bool][]time.Duration) {
	q := func(ds []time.Duration, f float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(f*float64(len(s)-1))]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	on, off := lat[true], lat[false]
	fmt.Printf("| RBAC objects | baselines | writes per setting | webhook | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- | --- |\n")
	fmt.Printf("| %d | %d | %d | on | %s | %s |\n", objects, baselines, len(on), ms(q(on, 0.5)), ms(q(on, 0.99)))
	fmt.Printf("| %d | %d | %d | off | %s | %s |\n", objects, baselines, len(off), ms(q(off, 0.5)), ms(q(off, 0.99)))
	fmt.Printf("\nadded by the webhook: p50 %s ms, p99 %s ms\n", ms(q(on, 0.5)-q(off, 0.5)), ms(q(on, 0.99)-q(off, 0.99)))
}
