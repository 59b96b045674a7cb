package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

const (
	baselineName     = "bench"
	declaredName     = "app" // the Role (and, in detect mode, RoleBinding) the baseline declares in each scoped namespace
	journalNamespace = harness.JournalNamespace
)

// Benchmark modes.
const (
	modeDetect  = "detect"  // Audit baseline: RBAC write -> finding in status
	modeEnforce = "enforce" // Enforce baseline: tampering write -> reverted in place
)

// The rules of the declared Role, and the rule a timed write adds. Neither matches a guardrail.
var (
	declaredRules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}, Verbs: []string{"get", "list", "watch"}}}
	addedRule     = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}
	fillerRules   = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps", "services"}, Verbs: []string{"get", "list", "watch"}}}
)

func nsName(i int) string { return fmt.Sprintf("bench-%03d", i) }

// layout says what the harness creates for a size.
type layout struct {
	namespaces, scoped                int
	bindings                          bool // a declared RoleBinding "app" besides the Role, in each scoped namespace
	clusterRoles, clusterRoleBindings int
	roles, roleBindings               int // fillers, besides the declared "app" objects
	expectedUnexpected                int // fillers in scoped namespaces: Unexpected findings
	existing                          int // bootstrap RBAC objects already in the cluster
}

func (l layout) total() int {
	return l.existing + l.clusterRoles + l.clusterRoleBindings + l.roles + l.roleBindings + l.declared()
}

// declared is how many declared objects the harness creates.
func (l layout) declared() int {
	if l.bindings {
		return 2 * l.scoped
	}
	return l.scoped
}

// planLayout splits n RBAC objects (bootstrap ones included): 5% ClusterRoles, 5%
// ClusterRoleBindings, the rest Roles and RoleBindings spread round-robin over the
// namespaces, and a declared Role "app" (and a RoleBinding "app" when bindings) in
// each scoped namespace.
func planLayout(n, existing, namespaces, scoped int, bindings bool) (layout, error) {
	l := layout{namespaces: namespaces, scoped: scoped, existing: existing, bindings: bindings}
	m := n - existing - l.declared()
	if m < 0 {
		return l, fmt.Errorf("%d objects are fewer than the %d the cluster and the declared objects already hold", n, existing+l.declared())
	}
	l.clusterRoles = m / 20
	l.clusterRoleBindings = m / 20
	rest := m - l.clusterRoles - l.clusterRoleBindings
	l.roles = rest / 2
	l.roleBindings = rest - l.roles
	for i := range l.roles {
		if i%namespaces < scoped {
			l.expectedUnexpected++
		}
	}
	for i := range l.roleBindings {
		if i%namespaces < scoped {
			l.expectedUnexpected++
		}
	}
	return l, nil
}

// countRBAC counts the RBAC objects in the cluster.
func countRBAC(ctx context.Context, c client.Client) (int, error) {
	total := 0
	for _, l := range []client.ObjectList{&rbacv1.RoleList{}, &rbacv1.ClusterRoleList{}, &rbacv1.RoleBindingList{}, &rbacv1.ClusterRoleBindingList{}} {
		if err := c.List(ctx, l); err != nil {
			return 0, err
		}
		total += listLen(l)
	}
	return total, nil
}

func listLen(l client.ObjectList) int {
	switch l := l.(type) {
	case *rbacv1.RoleList:
		return len(l.Items)
	case *rbacv1.ClusterRoleList:
		return len(l.Items)
	case *rbacv1.RoleBindingList:
		return len(l.Items)
	case *rbacv1.ClusterRoleBindingList:
		return len(l.Items)
	}
	return 0
}

// populate creates the namespaces and RBAC objects of l with a bounded pool of workers.
func populate(ctx context.Context, c client.Client, l layout, workers int) error {
	var created atomic.Int64
	// Namespaces first: a namespaced object needs its namespace.
	err := createAll(ctx, c, workers, &created, func(send func(client.Object) bool) {
		for i := range l.namespaces {
			if !send(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i), Labels: map[string]string{"bench": "detect"}}}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return createAll(ctx, c, workers, &created, func(send func(client.Object) bool) {
		for i := range l.scoped {
			ns := nsName(i)
			if !send(declaredRole(ns)) || (l.bindings && !send(declaredBinding(ns))) {
				return
			}
		}
		for i := range max(l.roles, l.roleBindings, l.clusterRoles, l.clusterRoleBindings) {
			ns := nsName(i % l.namespaces)
			name := fmt.Sprintf("filler-%05d", i)
			if i < l.roles && !send(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: fillerRules}) {
				return
			}
			if i < l.roleBindings && !send(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("user-%05d", i)}}}) {
				return
			}
			if i < l.clusterRoles && !send(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "bench-" + name}, Rules: fillerRules}) {
				return
			}
			if i < l.clusterRoleBindings && !send(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bench-" + name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "bench-" + name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("group-%05d", i)}}}) {
				return
			}
		}
	})
}

// createAll creates the objects feed sends, with workers concurrent creates, and
// stops at the first error.
func createAll(ctx context.Context, c client.Client, workers int, created *atomic.Int64, feed func(send func(client.Object) bool)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objs := make(chan client.Object, workers)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range objs {
				if err := c.Create(ctx, o); err != nil {
					once.Do(func() {
						firstErr = fmt.Errorf("creating %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err)
						cancel()
					})
					continue
				}
				if n := created.Add(1); n%5000 == 0 {
					progress("  created %d objects", n)
				}
			}
		}()
	}
	feed(func(o client.Object) bool {
		select {
		case objs <- o:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(objs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func declaredRole(ns string) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: declaredName}, Rules: declaredRules}
}

func declaredBinding(ns string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: declaredName},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: declaredName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "app-devs"}}}
}

// baseline lists the scoped namespaces, declares "app" in each, and reports undeclared
// objects. In enforce mode it is an Enforce baseline at the highest revert rate allowed.
func baseline(l layout, mode string) *v1alpha1.RoleBaseline {
	var nss []string
	for i := range l.scoped {
		nss = append(nss, nsName(i))
	}
	rules := make([]v1alpha1.PolicyRule, 0, len(declaredRules))
	for _, r := range declaredRules {
		rules = append(rules, v1alpha1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, Verbs: r.Verbs})
	}
	rb := &v1alpha1.RoleBaseline{
		ObjectMeta: metav1.ObjectMeta{Name: baselineName},
		Spec: v1alpha1.RoleBaselineSpec{
			Mode:      v1alpha1.ModeAudit,
			Unmanaged: v1alpha1.UnmanagedReport,
			Scope:     v1alpha1.Scope{Namespaces: nss},
			Roles:     []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: declaredName, Rules: rules}},
		},
	}
	if l.bindings {
		rb.Spec.Bindings = []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: declaredName,
			RoleRef:  v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: declaredName},
			Subjects: []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: v1alpha1.RBACGroup, Name: "app-devs"}}}}
	}
	if mode == modeEnforce {
		rb.Spec.Mode = v1alpha1.ModeEnforce // every Enforcement setting at its default
	}
	return rb
}
