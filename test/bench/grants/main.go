// Command grants measures how soon AccessGrants end after they expire: it runs the
// operator as its own process against envtest, creates -grants grants whose
// expiries fall within one minute, watches their RoleBindings go, and prints the
// delay from each grant's status.expiresAt to its binding's deletion (p50, p99, max).
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-assets) go run ./test/bench/grants -grants 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

func main() {
	n := flag.Int("grants", 1000, "grants expiring within one minute")
	flag.Parse()
	harness.Progress = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := context.Background()
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "grants-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// No webhooks: the harness sets the requester as the mutating webhook would.
	cp, err := harness.StartControlPlane(root, dir, func(env *envtest.Environment) { env.WebhookInstallOptions = envtest.WebhookInstallOptions{} })
	if err != nil {
		return err
	}
	defer cp.Stop()
	bin, err := harness.BuildManager(ctx, root, dir)
	if err != nil {
		return err
	}
	// The webhooks are off (the harness plays the mutating one), so the operator is told
	// not to require what only they verify.
	m, err := harness.StartManager(bin, cp.Kubeconfig, dir, harness.ManagerOptions{Args: []string{"--require-approval=false"}})
	if err != nil {
		return err
	}
	defer m.Stop(false)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.NewWithWatch(cp.Cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	const ns = "oncall"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: "grants"}, Spec: v1alpha1.RoleBaselineSpec{
		Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
		Grants: []v1alpha1.GrantPolicy{{Name: "oncall", Roles: []v1alpha1.RoleRef{{Kind: v1alpha1.KindClusterRole, Name: "view"}},
			Subjects:    []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: "oncall"}},
			MaxDuration: metav1.Duration{Duration: time.Hour}}}}}
	if err := c.Create(ctx, rb); err != nil {
		return err
	}

	var mu sync.Mutex
	deleted := map[string]time.Time{}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = harness.Watch(wctx, c, &rbacv1.RoleBindingList{}, func(at time.Time, typ watch.EventType, obj client.Object) {
			if typ == watch.Deleted {
				mu.Lock()
				deleted[obj.GetName()] = at
				mu.Unlock()
			}
		})
	}()

	start := time.Now()
	// Expiries spread over 30 s, all within one minute, starting 60 s from now.
	for i := range n {
		g := &v1alpha1.AccessGrant{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("g-%04d", i)}, Spec: v1alpha1.AccessGrantSpec{
			Baseline: rb.Name, Requester: fmt.Sprintf("user-%d", i), RequesterGroups: []string{"oncall"},
			Role: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"}, Namespaces: []string{ns},
			Duration: metav1.Duration{Duration: 60*time.Second - time.Since(start) + time.Duration(i)*30*time.Second/time.Duration(n)}, Reason: "bench"}}
		if err := c.Create(ctx, g); err != nil {
			return err
		}
	}
	fmt.Printf("created %d grants in %s\n", n, time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(3 * time.Minute)
	for {
		mu.Lock()
		done := len(deleted)
		mu.Unlock()
		if done >= n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d bindings removed; manager log:\n%s", done, n, m.Tail(30))
		}
		time.Sleep(500 * time.Millisecond)
	}
	var list v1alpha1.AccessGrantList
	if err := c.List(ctx, &list); err != nil {
		return err
	}
	var delays []time.Duration
	for _, g := range list.Items {
		if g.Status.ExpiresAt == nil {
			return fmt.Errorf("grant %s has no expiresAt (state %s)", g.Name, g.Status.State)
		}
		mu.Lock()
		at, ok := deleted["access-grant-"+g.Name]
		mu.Unlock()
		if !ok {
			return fmt.Errorf("grant %s: its binding was not seen deleted", g.Name)
		}
		delays = append(delays, at.Sub(g.Status.ExpiresAt.Time))
	}
	slices.Sort(delays)
	q := func(p float64) time.Duration { return delays[min(len(delays)-1, int(p*float64(len(delays))))] }
	fmt.Printf("%d grants, expiry to binding removed: p50 %s, p99 %s, max %s (min %s; expiresAt has second precision)\n",
		len(delays), q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond), delays[0].Round(time.Millisecond))
	return nil
}
