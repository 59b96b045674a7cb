package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
}

var (
	readPods    = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}
	readSecrets = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	devs        = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"}
)

// cluster is one case's control plane and a client of its own.
type cluster struct {
	t   *testing.T
	ctx context.Context
	cp  *harness.ControlPlane
	c   client.WithWatch
	dir string
}

func newCluster(t *testing.T, configure func(*envtest.Environment)) *cluster {
	t.Helper()
	harness.Progress = t.Logf
	dir := t.TempDir()
	cp, err := harness.StartControlPlane(repoRoot, dir, configure)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	c, err := client.NewWithWatch(cp.Cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &cluster{t: t, ctx: ctx, cp: cp, c: c, dir: dir}
}

// operator is a manager process with its metrics served over plain HTTP on loopback.
type operator struct {
	*harness.Manager
	metrics string
}

// operator starts the manager with default settings plus args.
func (cl *cluster) operator(name string, args ...string) *operator {
	cl.t.Helper()
	port, err := harness.FreePort()
	if err != nil {
		cl.t.Fatal(err)
	}
	m, err := harness.StartManager(managerBin, cl.cp.Kubeconfig, cl.dir, harness.ManagerOptions{LogName: name + ".log",
		Args: append(append(cl.cp.ManagerArgs(), "--metrics-secure=false", "--metrics-bind-address=127.0.0.1:"+strconv.Itoa(port)), args...)})
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.t.Cleanup(func() { m.Stop(cl.t.Failed()) })
	return &operator{Manager: m, metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
}

// metric sums the samples of a metric (every label set); -1 when it cannot be read.
func (o *operator) metric(name string) float64 {
	resp, err := http.Get(o.metrics)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return 0
	}
	return sum
}

// teams creates n namespaces labelled reliability=label, each with the Role app and
// the RoleBinding app (to Group devs) that baseline declares, and returns their names.
func (cl *cluster) teams(label string, n int) []string {
	cl.t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", label, i)
	}
	cl.parallel(names, func(ns string) error {
		objs := []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"reliability": label}}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Rules: []rbacv1.PolicyRule{readPods}},
			declaredBinding(ns, "app"),
		}
		for _, o := range objs {
			if err := cl.c.Create(cl.ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	return names
}

func declaredBinding(ns, role string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects: []rbacv1.Subject{devs}}
}

// parallel runs f for every name on 16 goroutines and fails the test on an error.
func (cl *cluster) parallel(names []string, f func(string) error) {
	cl.t.Helper()
	work := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for n := range work {
				if err := f(n); err != nil {
					errs <- fmt.Errorf("%s: %w", n, err)
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		cl.t.Fatal(err)
	}
}

// baseline creates the Enforce baseline of the label's teams, every other setting at
// its default, and waits until it is InSync.
func (cl *cluster) baseline(label string) *v1alpha1.RoleBaseline {
	cl.t.Helper()
	rb := &v1alpha1.RoleBaseline{
		ObjectMeta: metav1.ObjectMeta{Name: label},
		Spec: v1alpha1.RoleBaselineSpec{
			Mode:  v1alpha1.ModeEnforce,
			Scope: v1alpha1.Scope{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"reliability": label}}},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "app", Rules: []v1alpha1.PolicyRule{{APIGroups: []string{""},
				Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}},
			Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "app", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "app"},
				Subjects: []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: v1alpha1.RBACGroup, Name: "devs"}}}},
		},
	}
	if err := harness.CreateWhenServed(cl.ctx, cl.c, rb, 2*time.Minute); err != nil {
		cl.t.Fatal(err)
	}
	cl.eventually(2*time.Minute, "the baseline is InSync", func() bool {
		return cl.c.Get(cl.ctx, client.ObjectKeyFromObject(rb), rb) == nil &&
			meta.IsStatusConditionTrue(rb.Status.Conditions, v1alpha1.ConditionInSync)
	})
	return rb
}

// eventually polls cond every 100 ms until it holds, or fails the test after timeout.
func (cl *cluster) eventually(timeout time.Duration, what string, cond func() bool) {
	cl.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			cl.t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tamperRole adds a rule to ns/app, as a person or script would, retrying conflicts.
func (cl *cluster) tamperRole(c client.Client, ns string) error {
	for {
		role := &rbacv1.Role{}
		if err := c.Get(cl.ctx, client.ObjectKey{Namespace: ns, Name: "app"}, role); err != nil {
			return err
		}
		role.Rules = append(role.Rules, readSecrets)
		err := c.Update(cl.ctx, role)
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
}

// deleteBinding deletes ns/app.
func (cl *cluster) deleteBinding(ns string) error {
	return cl.c.Delete(cl.ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})
}

// journal lists the baseline's journal entries.
func (cl *cluster) journal(rb *v1alpha1.RoleBaseline) []corev1.ConfigMap {
	cl.t.Helper()
	var list corev1.ConfigMapList
	if err := cl.c.List(cl.ctx, &list, client.InNamespace(harness.JournalNamespace),
		client.MatchingLabels{"guardrails.rbac-guardrails.io/journal-of": string(rb.UID)}); err != nil {
		cl.t.Fatal(err)
	}
	return list.Items
}

// driftAll edits every team's Role and deletes its RoleBinding, from 16 clients at
// once, and returns the drifted objects' keys and when the drift began.
func (cl *cluster) driftAll(nss []string) ([]string, time.Time) {
	cl.t.Helper()
	var keys []string
	for _, ns := range nss {
		keys = append(keys, roleKey(ns), bindingKey(ns))
	}
	since := time.Now()
	cl.parallel(nss, func(ns string) error {
		if err := cl.tamperRole(cl.c, ns); err != nil {
			return err
		}
		return cl.deleteBinding(ns)
	})
	return keys, since
}
