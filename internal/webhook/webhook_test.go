package webhook_test

import (
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var (
	seq         atomic.Int64
	readPods    = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}
	readSecrets = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
)

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func createNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unique("team")}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func newRole(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func getRole(ns, name string) *rbacv1.Role { return fetchRole(Default, ns, name) }

// fetchRole is getRole for Eventually, which retries while the role is missing.
func fetchRole(g Gomega, ns, name string) *rbacv1.Role {
	r := &rbacv1.Role{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
	return r
}

// baseline declares a Role in one namespace, with no catalog guardrails so only drift counts.
func baseline(mode v1alpha1.Mode, ns, role string, rules ...rbacv1.PolicyRule) *v1alpha1.RoleBaseline {
	return &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline")}, Spec: v1alpha1.RoleBaselineSpec{
		Mode: mode, Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
		Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: role, Rules: drift.ToAPIRules(rules...)}}}}
}

// createLoaded creates a baseline and waits until the controller has evaluated it, so
// the webhook judges by it.
func createLoaded(rb *v1alpha1.RoleBaseline) {
	Expect(k8sClient.Create(ctx, rb)).To(Succeed())
	Eventually(func(g Gomega) {
		got := &v1alpha1.RoleBaseline{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rb), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionInSync)).NotTo(BeNil())
	}).Should(Succeed())
}

var _ = Describe("RBAC webhook", func() {
	It("denies in Enforce mode what the baseline forbids, dry run included, and names the baseline and the rule", func() {
		alice, _ := userClient(unique("alice"), []string{"devs"}, "cluster-admin")
		ns := createNamespace()
		Expect(k8sClient.Create(ctx, newRole(ns, "reader", readPods))).To(Succeed())
		rb := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods)
		createLoaded(rb)

		role := getRole(ns, "reader")
		role.Rules = append(role.Rules, readSecrets)
		for _, opts := range [][]client.UpdateOption{{client.DryRunAll}, nil} {
			err := alice.Update(ctx, role.DeepCopy(), opts...)
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
			Expect(err.Error()).To(ContainSubstring("RoleBaseline " + rb.Name + " (Enforce) forbids this change"))
			Expect(err.Error()).To(ContainSubstring("RulesAdded"))
			Expect(err.Error()).To(ContainSubstring("get secrets"))
			Expect(err.Error()).To(ContainSubstring("Role " + ns + "/reader"))
			Expect(err.Error()).To(ContainSubstring("system:masters"))
		}
		Expect(getRole(ns, "reader").Rules).To(Equal([]rbacv1.PolicyRule{readPods}))

		err := alice.Delete(ctx, getRole(ns, "reader"))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("Missing"))

		By("allowing what the baseline does not concern")
		Expect(alice.Create(ctx, newRole(ns, "other", readSecrets))).To(Succeed())
	})

	It("previews a ClusterRole labelled into an aggregated role as widening it, before the aggregation controller runs", func() {
		alice, _ := userClient(unique("alice"), []string{"devs"}, "cluster-admin")
		ns := createNamespace()
		label := "example.com/aggregate-to-" + unique("team")
		agg := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique("team-view")},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{label: "true"}}}}}
		Expect(k8sClient.Create(ctx, agg)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: agg.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"}}})).To(Succeed())
		rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline")}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
			Subjects: []v1alpha1.SubjectCeiling{{Subject: v1alpha1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "devs"}, Rules: drift.ToAPIRules(readPods)}}}}
		createLoaded(rb)

		feeder := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique("peek"), Labels: map[string]string{label: "true"}},
			Rules: []rbacv1.PolicyRule{readSecrets}}
		err := alice.Create(ctx, feeder)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("ExceedsCeiling"))
		Expect(err.Error()).To(ContainSubstring("RoleBinding " + ns + "/devs"))
		Expect(err.Error()).To(ContainSubstring("get secrets"))

		By("allowing the same ClusterRole without the label")
		feeder.Labels = nil
		Expect(alice.Create(ctx, feeder)).To(Succeed())
	})

	It("refuses under Enforce a binding that opens an escalation path, naming the path", func() {
		alice, _ := userClient(unique("alice"), []string{"devs"}, "cluster-admin")
		ns := createNamespace()
		run := newRole(ns, "run", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "run"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"}}})).To(Succeed())
		rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline")}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{Namespaces: []string{ns}}}}
		createLoaded(rb)

		// The deployer account gains secrets in the namespace: whoever runs pods there does.
		secrets := newRole(ns, "peek", readSecrets)
		Expect(k8sClient.Create(ctx, secrets)).To(Succeed())
		grant := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "peek"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: ns}}}
		err := alice.Create(ctx, grant)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("escalation-path"))
		Expect(err.Error()).To(ContainSubstring("Group devs reaches secrets-read in namespace " + ns + " beyond its own grants: RoleBinding " + ns + "/devs -> create pods in namespace " + ns + " -> ServiceAccount " + ns + "/deployer -> RoleBinding " + ns + "/deployer"))
	})

	It("refuses under Enforce a grant that lifts an Effective ceiling through a path, naming the path", func() {
		alice, _ := userClient(unique("alice"), []string{"devs"}, "cluster-admin")
		ns := createNamespace()
		runPods := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}}
		Expect(k8sClient.Create(ctx, newRole(ns, "run", runPods))).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "run"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"}}})).To(Succeed())
		rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline")}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
			Subjects: []v1alpha1.SubjectCeiling{{Subject: v1alpha1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "devs"},
				Rules: drift.ToAPIRules(runPods), Judge: v1alpha1.CeilingEffective}}}}
		createLoaded(rb)

		Expect(k8sClient.Create(ctx, newRole(ns, "peek", readSecrets))).To(Succeed())
		grant := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "peek"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: ns}}}
		err := alice.Create(ctx, grant)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("ExceedsCeiling"))
		Expect(err.Error()).To(ContainSubstring("Group devs can exceed its ceiling through RoleBinding " + ns + "/devs"))

		By("allowing the same grant once the ceiling judges direct grants only")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rb), rb)).To(Succeed())
		rb.Spec.Subjects[0].Judge = v1alpha1.CeilingDirect
		Expect(k8sClient.Update(ctx, rb)).To(Succeed())
		Eventually(func() error { return alice.Create(ctx, grant.DeepCopy()) }).Should(Succeed())
	})

	It("allows in Audit mode with one warning per new finding, and none for a change that reduces drift", func() {
		alice, warned := userClient(unique("alice"), []string{"devs"}, "cluster-admin")
		ns := createNamespace()
		Expect(k8sClient.Create(ctx, newRole(ns, "reader", readPods))).To(Succeed())
		rb := baseline(v1alpha1.ModeAudit, ns, "reader", readPods)
		rb.Spec.Unmanaged = v1alpha1.UnmanagedReport
		createLoaded(rb)

		Expect(alice.Create(ctx, newRole(ns, "extra", readPods))).To(Succeed())
		Expect(warned.got).To(ConsistOf(HavePrefix("RoleBaseline " + rb.Name + " (Audit): Unexpected: Role " + ns + "/extra")))

		warned.got = nil
		role := getRole(ns, "reader")
		role.Rules = append(role.Rules, readSecrets)
		Expect(alice.Update(ctx, role)).To(Succeed())
		Expect(warned.got).To(ConsistOf(And(ContainSubstring("(Audit): RulesAdded"), ContainSubstring("get secrets"))))

		By("reverting the drift once the controller has seen it")
		Eventually(func() int32 { return getBaselineStatus(rb.Name).Counts.Drifts }).Should(BeNumerically(">=", 2))
		warned.got = nil
		role = getRole(ns, "reader")
		role.Rules = []rbacv1.PolicyRule{readPods}
		Expect(alice.Update(ctx, role)).To(Succeed())
		Expect(warned.got).To(BeEmpty())
	})

	It("lets an exempt group through, and the controller then reverts", func() {
		bob, _ := userClient(unique("bob"), []string{breakGlass}, "cluster-admin")
		ns := createNamespace()
		Expect(k8sClient.Create(ctx, newRole(ns, "reader", readPods))).To(Succeed())
		createLoaded(baseline(v1alpha1.ModeEnforce, ns, "reader", readPods))

		role := getRole(ns, "reader")
		role.Rules = append(role.Rules, readSecrets)
		Expect(bob.Update(ctx, role)).To(Succeed())
		Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "reader").Rules }).Should(Equal([]rbacv1.PolicyRule{readPods}))
	})

	It("fails open while the webhook is down (failurePolicy Ignore), and the controller reverts once back", func() {
		alice, _ := userClient(unique("alice"), []string{"devs"}, "cluster-admin")
		ns := createNamespace()
		Expect(k8sClient.Create(ctx, newRole(ns, "reader", readPods))).To(Succeed())
		createLoaded(baseline(v1alpha1.ModeEnforce, ns, "reader", readPods))

		stopManager()
		stopManager = nil
		role := getRole(ns, "reader")
		role.Rules = append(role.Rules, readSecrets)
		Expect(alice.Update(ctx, role)).To(Succeed())
		Expect(getRole(ns, "reader").Rules).To(ContainElement(readSecrets))

		stopManager = startManager(cfg)
		Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "reader").Rules }).Should(Equal([]rbacv1.PolicyRule{readPods}))
	})
})

func getBaselineStatus(name string) v1alpha1.RoleBaselineStatus {
	rb := &v1alpha1.RoleBaseline{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, rb)).To(Succeed())
	return rb.Status
}
