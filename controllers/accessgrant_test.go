package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/controllers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

var _ = Describe("AccessGrant controller", func() {
	// The webhooks record requester and groups; this suite serves none, so the specs
	// set them as the mutating webhook would.
	setup := func(approvers string) (ns, baseline string) {
		ns = createNamespace(nil)
		rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("grants")}, Spec: v1alpha1.RoleBaselineSpec{
			Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
			Grants: []v1alpha1.GrantPolicy{{Name: "oncall", Roles: []v1alpha1.RoleRef{{Kind: v1alpha1.KindClusterRole, Name: "view"}},
				Subjects:    []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: "oncall"}},
				MaxDuration: metav1.Duration{Duration: time.Hour}, Approvers: approvers}}}}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		return ns, rb.Name
	}
	grant := func(baseline, ns string, d time.Duration) *v1alpha1.AccessGrant {
		g := &v1alpha1.AccessGrant{ObjectMeta: metav1.ObjectMeta{Name: unique("grant")}, Spec: v1alpha1.AccessGrantSpec{
			Baseline: baseline, Requester: "alice", RequesterGroups: []string{"oncall", "system:authenticated"},
			Role: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"}, Namespaces: []string{ns},
			Duration: metav1.Duration{Duration: d}, Reason: "INC-1"}}
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
		return g
	}
	state := func(g *v1alpha1.AccessGrant) func(Gomega) v1alpha1.GrantState {
		return func(gm Gomega) v1alpha1.GrantState {
			cur := &v1alpha1.AccessGrant{}
			gm.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), cur)).To(Succeed())
			return cur.Status.State
		}
	}
	binding := func(ns string, g *v1alpha1.AccessGrant) func() error {
		return func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "access-grant-" + g.Name}, &rbacv1.RoleBinding{})
		}
	}

	It("activates a grant the policy allows, binds the requester, and removes the binding at expiry, journaling both", func() {
		ns, baseline := setup("")
		g := grant(baseline, ns, 3*time.Second)
		Eventually(state(g)).Should(Equal(v1alpha1.GrantActive))
		rb := &rbacv1.RoleBinding{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "access-grant-" + g.Name}, rb)).To(Succeed())
		Expect(rb.Subjects).To(Equal([]rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}))
		Expect(rb.RoleRef.Name).To(Equal("view"))
		cur := &v1alpha1.AccessGrant{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), cur)).To(Succeed())
		Expect(cur.Status.ExpiresAt.Sub(cur.Status.ActivatedAt.Time)).To(Equal(3 * time.Second))
		Expect(cur.Status.Policy).To(Equal("oncall"))

		By("re-creating the binding if it is deleted while the grant is active")
		Expect(k8sClient.Delete(ctx, rb)).To(Succeed())
		Eventually(binding(ns, g)).Should(Succeed())

		By("removing it at expiry, counted in the metrics")
		Expect(testutil.ToFloat64(controllers.GrantTransitionsTotal.WithLabelValues(baseline, "Active"))).To(BeNumerically(">=", 1))
		Eventually(state(g), 10*time.Second).Should(Equal(v1alpha1.GrantExpired))
		Expect(testutil.ToFloat64(controllers.GrantTransitionsTotal.WithLabelValues(baseline, "Expired"))).To(Equal(1.0))
		Expect(apierrors.IsNotFound(binding(ns, g)())).To(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), cur)).To(Succeed())
		Expect(cur.Status.EndedAt.Sub(cur.Status.ExpiresAt.Time)).To(BeNumerically("<", 2*time.Second))

		var entries corev1.ConfigMapList
		base := getBaseline(baseline)
		Expect(k8sClient.List(ctx, &entries, client.InNamespace(journalNamespace), client.MatchingLabels{revert.JournalLabel: string(base.UID)})).To(Succeed())
		actions := map[string]int{}
		for _, e := range entries.Items {
			actions[e.Annotations[revert.AnnotationAction]]++
		}
		Expect(actions).To(HaveKey("Create"))
		Expect(actions).To(HaveKey("Delete"))

		By("removing a binding someone re-creates after expiry")
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "access-grant-" + g.Name,
			Labels:          map[string]string{"guardrails.rbac-guardrails.io/access-grant": g.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cur, v1alpha1.GroupVersion.WithKind("AccessGrant"))}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}})).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(binding(ns, g)()) }).Should(BeTrue())
	})

	It("waits for approval, and ends a revoked grant at once", func() {
		ns, baseline := setup("leads")
		g := grant(baseline, ns, time.Hour)
		Eventually(state(g)).Should(Equal(v1alpha1.GrantPending))
		Consistently(binding(ns, g), time.Second).ShouldNot(Succeed())

		// The controller writes the status meanwhile: each change retries a conflict.
		change := func(mut func(*v1alpha1.AccessGrant)) {
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				cur := &v1alpha1.AccessGrant{}
				Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), cur)).To(Succeed())
				mut(cur)
				return k8sClient.Update(ctx, cur)
			})).To(Succeed())
		}
		change(func(cur *v1alpha1.AccessGrant) {
			cur.Spec.Approval = &v1alpha1.GrantApproval{Decision: v1alpha1.GrantDecisionApproved, By: "bob"}
		})
		Eventually(state(g)).Should(Equal(v1alpha1.GrantActive))
		Eventually(binding(ns, g)).Should(Succeed())

		change(func(cur *v1alpha1.AccessGrant) { cur.Spec.Revoked = true })
		Eventually(state(g)).Should(Equal(v1alpha1.GrantRevoked))
		Expect(apierrors.IsNotFound(binding(ns, g)())).To(BeTrue())
	})

	It("revokes on start a grant that expired while the operator was stopped", func() {
		ns, baseline := setup("")
		stopManager()
		// What a stopped operator left: an active grant past its expiry, and its binding.
		g := grant(baseline, ns, time.Minute)
		cur := &v1alpha1.AccessGrant{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), cur)).To(Succeed())
		activated, expired := metav1.NewTime(time.Now().Add(-2*time.Minute)), metav1.NewTime(time.Now().Add(-time.Minute))
		cur.Status = v1alpha1.AccessGrantStatus{State: v1alpha1.GrantActive, ActivatedAt: &activated, ExpiresAt: &expired,
			Bindings: []v1alpha1.GrantBinding{{Kind: v1alpha1.KindRoleBinding, Namespace: ns, Name: "access-grant-" + g.Name}}}
		Expect(k8sClient.Status().Update(ctx, cur)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "access-grant-" + g.Name,
			Labels:          map[string]string{"guardrails.rbac-guardrails.io/access-grant": g.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cur, v1alpha1.GroupVersion.WithKind("AccessGrant"))}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}})).To(Succeed())

		stopManager = startManager(cfg)
		Eventually(state(g)).Should(Equal(v1alpha1.GrantExpired))
		Expect(apierrors.IsNotFound(binding(ns, g)())).To(BeTrue())
	})
})
