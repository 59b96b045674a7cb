package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/controllers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/report"
)

var (
	readPods    = rule("", "pods", "get", "list", "watch")
	readSecrets = rule("", "secrets", "get")
)

// teamBaseline declares one Role and one RoleBinding in ns and reports anything else.
func teamBaseline(ns string) *v1alpha1.RoleBaseline {
	return &v1alpha1.RoleBaseline{
		ObjectMeta: metav1.ObjectMeta{Name: unique("team")},
		Spec: v1alpha1.RoleBaselineSpec{
			Scope:     v1alpha1.Scope{Namespaces: []string{ns}},
			Unmanaged: v1alpha1.UnmanagedReport,
			Roles:     []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "app", Rules: drift.ToAPIRules(readPods)}},
			Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "app-devs",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "app"}, Subjects: []v1alpha1.Subject{apiSubject(group("devs"))}}},
		},
	}
}

// inSyncTeam creates a namespace, its baseline and matching RBAC, and waits for InSync.
func inSyncTeam() (string, *v1alpha1.RoleBaseline) {
	ns := createNamespace(nil)
	Expect(k8sClient.Create(ctx, newRole(ns, "app", readPods))).To(Succeed())
	Expect(k8sClient.Create(ctx, newRoleBinding(ns, "app-devs", "app", group("devs")))).To(Succeed())
	rb := teamBaseline(ns)
	Expect(k8sClient.Create(ctx, rb)).To(Succeed())
	rb = eventuallyStatus(rb.Name, inSync)
	Expect(meta.IsStatusConditionTrue(rb.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
	Expect(rb.Status.Findings).To(BeEmpty())
	return ns, rb
}

var _ = Describe("RoleBaseline controller", func() {
	It("reports a declared role that does not exist as Missing, and InSync once it is created", func() {
		ns := createNamespace(nil)
		rb := teamBaseline(ns)
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		got := eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingMissing, "Role", ns, "app"))
		Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionInSync).Reason).To(Equal(v1alpha1.ReasonDriftDetected))
		Expect(got.Status.Counts.Drifts).To(BeEquivalentTo(2)) // the role and the binding
		Expect(got.Status.LastEvaluationTime).NotTo(BeNil())

		Expect(k8sClient.Create(ctx, newRole(ns, "app", readPods))).To(Succeed())
		Expect(k8sClient.Create(ctx, newRoleBinding(ns, "app-devs", "app", group("devs")))).To(Succeed())
		eventuallyStatus(rb.Name, inSync)
	})

	It("reports rules added and removed, and InSync when the rules are put back", func() {
		ns, rb := inSyncTeam()
		role := &rbacv1.Role{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, role)).To(Succeed())

		role.Rules = append(role.Rules, readSecrets)
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		got := eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingRulesAdded, "Role", ns, "app"))
		for _, f := range got.Status.Findings {
			if f.Type == v1alpha1.FindingRulesAdded {
				Expect(f.Rules).To(ConsistOf(drift.ToAPIRules(readSecrets)))
				Expect(f.FirstSeen).NotTo(BeNil())
			}
		}

		role.Rules = []rbacv1.PolicyRule{rule("", "pods", "get")}
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingRulesRemoved, "Role", ns, "app"))

		// Split rules that grant the same permissions are not drift.
		role.Rules = []rbacv1.PolicyRule{rule("", "pods", "list", "watch"), rule("", "pods", "get")}
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		eventuallyStatus(rb.Name, inSync)
	})

	It("reports subjects added and removed, and a changed roleRef", func() {
		ns, rb := inSyncTeam()
		binding := &rbacv1.RoleBinding{}
		key := client.ObjectKey{Namespace: ns, Name: "app-devs"}
		Expect(k8sClient.Get(ctx, key, binding)).To(Succeed())

		binding.Subjects = append(binding.Subjects, group("contractors"))
		Expect(k8sClient.Update(ctx, binding)).To(Succeed())
		got := eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingSubjectsAdded, "RoleBinding", ns, "app-devs"))
		Expect(got.Status.Findings[0].Subjects).To(ConsistOf(apiSubject(group("contractors"))))

		binding.Subjects = nil
		Expect(k8sClient.Update(ctx, binding)).To(Succeed())
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingSubjectsRemoved, "RoleBinding", ns, "app-devs"))

		// roleRef is immutable: a changed roleRef is a delete and a create.
		Expect(k8sClient.Delete(ctx, binding)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-devs"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{group("devs")}})).To(Succeed())
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingRoleRefChanged, "RoleBinding", ns, "app-devs"))
	})

	It("reports an undeclared role as Unexpected and a secrets reader as a guardrail violation", func() {
		ns, rb := inSyncTeam()
		Expect(k8sClient.Create(ctx, newRole(ns, "sneaky", readSecrets))).To(Succeed())
		got := eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingUnexpected, "Role", ns, "sneaky"))
		Expect(got.Status.Findings).To(ContainElement(SatisfyAll(
			HaveField("Type", v1alpha1.FindingGuardrailViolation),
			HaveField("Guardrail", v1alpha1.GuardrailSecretsRead),
			HaveField("Object.Name", "sneaky"))))
		Expect(got.Status.Counts.Violations).To(BeNumerically(">=", 1))

		By("emitting events on the baseline and on the drifted role")
		Eventually(func() map[string]int { return eventsAbout("Role", ns, "sneaky") }).Should(SatisfyAll(
			HaveKey(v1alpha1.ReasonDriftDetected), HaveKey(v1alpha1.ReasonGuardrailViolated)))
		Eventually(func() map[string]int { return eventsAbout("RoleBaseline", "", rb.Name) }).Should(
			HaveKey(v1alpha1.ReasonGuardrailViolated))

		Expect(k8sClient.Delete(ctx, newRole(ns, "sneaky"))).To(Succeed())
		eventuallyStatus(rb.Name, inSync)
		Eventually(func() map[string]int { return eventsAbout("RoleBaseline", "", rb.Name) }).Should(
			HaveKey(v1alpha1.ReasonDriftResolved))
	})

	It("reports a ServiceAccount granted beyond its ceiling, naming the granting binding", func() {
		ns := createNamespace(nil)
		sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: ns}
		rb := &v1alpha1.RoleBaseline{
			ObjectMeta: metav1.ObjectMeta{Name: unique("ceiling")},
			Spec: v1alpha1.RoleBaselineSpec{
				Scope:      v1alpha1.Scope{Namespaces: []string{ns}},
				Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
				Subjects:   []v1alpha1.SubjectCeiling{{Subject: apiSubject(sa), Rules: drift.ToAPIRules(readPods)}},
			},
		}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		Expect(k8sClient.Create(ctx, newRole(ns, "deploy", readPods))).To(Succeed())
		Expect(k8sClient.Create(ctx, newRoleBinding(ns, "deploy", "deploy", sa))).To(Succeed())
		eventuallyStatus(rb.Name, inSync)

		role := newRole(ns, "deploy", readPods, readSecrets)
		Expect(k8sClient.Update(ctx, withVersion(role))).To(Succeed())
		got := eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingExceedsCeiling, "RoleBinding", ns, "deploy"))
		Expect(got.Status.Findings[0].Rules).To(ConsistOf(drift.ToAPIRules(readSecrets)))
		Expect(got.Status.Findings[0].Subject).To(Equal(ptrTo(apiSubject(sa))))
		Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionInSync).Reason).To(Equal(v1alpha1.ReasonGuardrailViolated))
	})

	It("marks a baseline whose selector cannot be evaluated not Ready, naming the field", func() {
		rb := &v1alpha1.RoleBaseline{
			ObjectMeta: metav1.ObjectMeta{Name: unique("invalid")},
			Spec: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{NamespaceSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}}}},
		}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			return meta.IsStatusConditionFalse(st.Conditions, v1alpha1.ConditionReady)
		})
		ready := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		Expect(ready.Reason).To(Equal(v1alpha1.ReasonInvalidSpec))
		Expect(ready.Message).To(ContainSubstring("spec.scope.namespaceSelector"))
		stalled := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled)
		Expect(stalled).NotTo(BeNil())
		Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		Expect(stalled.Reason).To(Equal(v1alpha1.ReasonInvalidSpec))

		By("fixing the spec ends the stall")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rb), rb)).To(Succeed())
			rb.Spec.Scope.NamespaceSelector.MatchExpressions[0].Operator = metav1.LabelSelectorOpExists
			return k8sClient.Update(ctx, rb)
		})).To(Succeed())
		eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			return meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) && meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled) == nil
		})
	})

	It("marks an Enforce baseline with an aggregation selector it cannot parse not Ready, and writes nothing", func() {
		rb := &v1alpha1.RoleBaseline{
			ObjectMeta: metav1.ObjectMeta{Name: unique("bogus-aggregation")},
			Spec: v1alpha1.RoleBaselineSpec{Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{ClusterScoped: true},
				Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: unique("aggregated"), AggregationRule: &v1alpha1.AggregationRule{
					ClusterRoleSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}}}},
		}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed()) // no webhook in this suite: the controller is the last line
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			return meta.IsStatusConditionFalse(st.Conditions, v1alpha1.ConditionReady)
		})
		ready := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		Expect(ready.Reason).To(Equal(v1alpha1.ReasonInvalidSpec))
		Expect(ready.Message).To(ContainSubstring("spec.roles[0].aggregationRule.clusterRoleSelectors[0]"))
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: rb.Spec.Roles[0].Name}, &rbacv1.ClusterRole{}))
		}, 2*time.Second).Should(BeTrue())
	})

	It("follows namespace labels: a namespace that starts matching the selector brings its drift in", func() {
		ns := createNamespace(nil)
		rb := &v1alpha1.RoleBaseline{
			ObjectMeta: metav1.ObjectMeta{Name: unique("selector")},
			Spec: v1alpha1.RoleBaselineSpec{
				Scope:     v1alpha1.Scope{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": ns}}},
				Unmanaged: v1alpha1.UnmanagedReport,
			},
		}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		Expect(k8sClient.Create(ctx, newRole(ns, "extra", readPods))).To(Succeed())
		eventuallyStatus(rb.Name, inSync)

		nsObj := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, nsObj)).To(Succeed())
		nsObj.Labels = map[string]string{"team": ns}
		Expect(k8sClient.Update(ctx, nsObj)).To(Succeed())
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingUnexpected, "Role", ns, "extra"))
	})

	It("reconciles no baseline for a change outside every scope", func() {
		ns, rb := inSyncTeam()
		other := createNamespace(nil)
		// Let the reconciles caused by setting up settle.
		time.Sleep(500 * time.Millisecond)
		before := testutil.ToFloat64(controllers.ReconcilesTotal.WithLabelValues(rb.Name))

		Expect(k8sClient.Create(ctx, newRole(other, "elsewhere", readSecrets))).To(Succeed())
		Expect(k8sClient.Create(ctx, newRoleBinding(other, "elsewhere", "elsewhere", group("devs")))).To(Succeed())
		Consistently(func() float64 { return testutil.ToFloat64(controllers.ReconcilesTotal.WithLabelValues(rb.Name)) },
			2*time.Second, 100*time.Millisecond).Should(Equal(before))

		By("while a change in scope does reconcile it")
		Expect(k8sClient.Create(ctx, newRole(ns, "inside", readPods))).To(Succeed())
		Eventually(func() float64 { return testutil.ToFloat64(controllers.ReconcilesTotal.WithLabelValues(rb.Name)) }).Should(BeNumerically(">", before))
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingUnexpected, "Role", ns, "inside"))
	})

	It("keeps status bounded and valid with 5,000 drifted objects", func() {
		ns := createNamespace(nil)
		rb := &v1alpha1.RoleBaseline{
			ObjectMeta: metav1.ObjectMeta{Name: unique("many")},
			Spec: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Unmanaged: v1alpha1.UnmanagedReport,
				Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone}},
		}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		const n = 5000
		createRoles(ns, n, readPods)
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool { return st.Counts.Drifts == n })
		Expect(got.Status.Findings).To(HaveLen(report.DefaultStatusFindings))
		Expect(got.Status.FindingsOmitted).To(BeEquivalentTo(n - report.DefaultStatusFindings))
		Expect(got.Status.Counts.ByType[v1alpha1.FindingUnexpected]).To(BeEquivalentTo(n))

		By("emitting a bounded number of events for the mass change")
		events := eventsAbout("RoleBaseline", "", rb.Name)
		Expect(events[v1alpha1.ReasonDriftDetected]).To(BeNumerically("<=", report.EventBurst+5))
		Eventually(func() map[string]int { return eventsAbout("RoleBaseline", "", rb.Name) }).Should(HaveKey(v1alpha1.ReasonMoreFindings))
	})

	It("emits no duplicate events when the manager restarts", func() {
		ns, rb := inSyncTeam()
		Expect(k8sClient.Create(ctx, newRole(ns, "extra", readSecrets))).To(Succeed())
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingUnexpected, "Role", ns, "extra"))
		Eventually(func() map[string]int { return eventsAbout("Role", ns, "extra") }).Should(HaveKey(v1alpha1.ReasonDriftDetected))
		time.Sleep(time.Second) // let the event broadcaster flush
		baselineEvents := eventsAbout("RoleBaseline", "", rb.Name)
		roleEvents := eventsAbout("Role", ns, "extra")
		reconciles := testutil.ToFloat64(controllers.ReconcilesTotal.WithLabelValues(rb.Name))

		stopManager()
		stopManager = startManager(cfg)

		Eventually(func() float64 { return testutil.ToFloat64(controllers.ReconcilesTotal.WithLabelValues(rb.Name)) }).Should(BeNumerically(">", reconciles))
		Consistently(func() map[string]int { return eventsAbout("RoleBaseline", "", rb.Name) }, 2*time.Second).Should(Equal(baselineEvents))
		Expect(eventsAbout("Role", ns, "extra")).To(Equal(roleEvents))
		eventuallyStatus(rb.Name, hasFinding(v1alpha1.FindingUnexpected, "Role", ns, "extra"))
	})
})

func createRoles(ns string, n int, rules ...rbacv1.PolicyRule) {
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- k8sClient.Create(ctx, newRole(ns, fmt.Sprintf("r%05d", i), rules...))
		}()
	}
	for range n {
		Expect(<-errs).To(Succeed())
	}
}

// withVersion fills in the object's resourceVersion so it can be updated.
func withVersion[T client.Object](obj T) T {
	cur := obj.DeepCopyObject().(client.Object)
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), cur)).To(Succeed())
	obj.SetResourceVersion(cur.GetResourceVersion())
	return obj
}

func ptrTo[T any](v T) *T { return &v }
