package webhook_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/informers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
)

var _ = Describe("A replica that is not the leader", func() {
	It("keeps its evaluators current from the cache and judges like the leader", func() {
		// A lease someone else holds for an hour keeps this manager a follower, so its
		// controllers never run: only the registry's feed keeps its evaluators.
		id := unique("standby")
		now := metav1.NewMicroTime(time.Now())
		Expect(k8sClient.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: id},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("someone-else"), LeaseDurationSeconds: ptr.To[int32](3600),
				AcquireTime: &now, RenewTime: &now}})).To(Succeed())
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
			Cache: informers.CacheOptions(), HealthProbeBindAddress: "0",
			LeaderElection: true, LeaderElectionID: id, LeaderElectionNamespace: "default",
			Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
		Expect(err).NotTo(HaveOccurred())
		o := operator.DefaultOptions()
		o.Enforce.JournalNamespace = "default"
		o.Webhooks.Enabled = false // the suite's manager serves them; this one answers Preview directly
		r, err := operator.Setup(mgr, o)
		Expect(err).NotTo(HaveOccurred())
		mctx, mcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		DeferCleanup(func() { mcancel(); <-done })

		ns := createNamespace()
		Expect(k8sClient.Create(ctx, newRole(ns, "reader", readPods))).To(Succeed())
		rb := baseline(v1alpha1.ModeAudit, ns, "reader", readPods)
		createLoaded(rb)
		verdictsFor := func(obj client.Object) []string {
			var names []string
			for _, v := range r.Registry.Preview(obj, false) {
				names = append(names, v.Baseline)
			}
			return names
		}
		withSecrets := newRole(ns, "reader", readPods, readSecrets)
		Eventually(func() []string { return verdictsFor(withSecrets) }).Should(ContainElement(rb.Name))
		Expect(mgr.Elected()).NotTo(BeClosed())

		By("following RBAC changes: once the Role has drifted, the same drift is not new")
		role := getRole(ns, "reader")
		role.Rules = []rbacv1.PolicyRule{readPods, readSecrets}
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		Eventually(func() []string { return verdictsFor(withSecrets) }).ShouldNot(ContainElement(rb.Name))

		By("forgetting a deleted baseline")
		withConfigMaps := newRole(ns, "reader", readPods, readSecrets,
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}})
		Expect(verdictsFor(withConfigMaps)).To(ContainElement(rb.Name))
		Expect(k8sClient.Delete(ctx, rb)).To(Succeed())
		Eventually(func() []string { return verdictsFor(withConfigMaps) }).ShouldNot(ContainElement(rb.Name))
		Expect(mgr.Elected()).NotTo(BeClosed())
	})
})
