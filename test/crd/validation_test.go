package crd_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/config/crd"
	"github.com/rbac-guardrails/rbac-guardrails/internal/crdvalidation"
)

// offline validates rb as kubectl-guardrails does without a cluster; every verdict
// of the API server below is also asked of it.
func offline(rb *v1alpha1.RoleBaseline) field.ErrorList {
	GinkgoHelper()
	v, err := crdvalidation.New(crd.RoleBaselines, v1alpha1.GroupVersion.Version)
	Expect(err).NotTo(HaveOccurred())
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(rb.DeepCopy())
	Expect(err).NotTo(HaveOccurred())
	obj["apiVersion"], obj["kind"] = v1alpha1.GroupVersion.String(), "RoleBaseline"
	return v.Validate(ctx, obj)
}

var nameSeq int

// validBaseline is a baseline every rule accepts; each table entry breaks one thing.
func validBaseline() *v1alpha1.RoleBaseline {
	nameSeq++
	return &v1alpha1.RoleBaseline{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("valid-%d", nameSeq)},
		Spec: v1alpha1.RoleBaselineSpec{
			Scope: v1alpha1.Scope{Namespaces: []string{"team-a"}, ClusterScoped: true},
			Roles: []v1alpha1.DesiredRole{
				{Kind: v1alpha1.KindRole, Name: "reader", Rules: []v1alpha1.PolicyRule{
					{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
				}},
				{Kind: v1alpha1.KindClusterRole, Name: "metrics", Rules: []v1alpha1.PolicyRule{
					{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
				}},
			},
			Bindings: []v1alpha1.DesiredBinding{
				{Kind: v1alpha1.KindRoleBinding, Name: "readers", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "reader"},
					Subjects: []v1alpha1.Subject{
						{Kind: v1alpha1.SubjectGroup, APIGroup: v1alpha1.RBACGroup, Name: "devs"},
						{Kind: v1alpha1.SubjectServiceAccount, Name: "ci", Namespace: "team-a"},
					}},
			},
			Subjects: []v1alpha1.SubjectCeiling{
				{Subject: v1alpha1.Subject{Kind: v1alpha1.SubjectUser, APIGroup: v1alpha1.RBACGroup, Name: "alice"}, Rules: []v1alpha1.PolicyRule{
					{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
				}},
			},
			Guardrails: v1alpha1.Guardrails{
				Rules: []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailSecretsRead, Severity: v1alpha1.SeverityCritical}},
				Exceptions: []v1alpha1.GuardrailException{
					{Guardrails: []v1alpha1.GuardrailID{v1alpha1.GuardrailClusterAdminBinding}, Kind: "ClusterRoleBinding", Name: "break-glass", Reason: "reviewed"},
				},
			},
		},
	}
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ns-%d", i)
	}
	return out
}

var _ = Describe("RoleBaseline validation", func() {
	It("accepts the valid baseline the table starts from, with defaults filled in", func() {
		rb := validBaseline()
		Expect(offline(rb)).To(BeEmpty())
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		Expect(rb.Spec.Mode).To(Equal(v1alpha1.ModeAudit))
		Expect(rb.Spec.Unmanaged).To(Equal(v1alpha1.UnmanagedIgnore))
		Expect(rb.Spec.Guardrails.Set).To(Equal(v1alpha1.GuardrailSetAll))
	})

	It("accepts a RoleBinding's ServiceAccount subject without namespace, as Kubernetes does", func() {
		rb := validBaseline()
		rb.Spec.Bindings[0].Subjects[1].Namespace = "" // the binding's namespace
		Expect(offline(rb)).To(BeEmpty())
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
	})

	It("accepts one Role name declared with different rules for disjoint namespaces, and the most declarations a baseline may hold", func() {
		rb := validBaseline()
		other := rb.Spec.Roles[0]
		other.Namespaces = []string{"team-b"}
		other.Rules = []v1alpha1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}
		rb.Spec.Roles = append(rb.Spec.Roles, other)
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())

		// As many declarations as the schema allows, each of the size of real RBAC (the
		// corpus test logs 531 bytes a role and 251 a binding): etcd must hold them.
		full := validBaseline()
		realistic := []v1alpha1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "services", "endpoints", "configmaps", "persistentvolumeclaims"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"monitoring.coreos.com"}, Resources: []string{"servicemonitors", "podmonitors"}, Verbs: []string{"get", "list", "watch", "create", "update"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "list", "watch"}},
		}
		for i := len(full.Spec.Roles); i < v1alpha1.MaxRoles; i++ {
			full.Spec.Roles = append(full.Spec.Roles, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: fmt.Sprintf("application-controller-%d", i), Rules: realistic})
		}
		for i := len(full.Spec.Bindings); i < v1alpha1.MaxBindings; i++ {
			b := full.Spec.Bindings[0]
			b.Name = fmt.Sprintf("application-controller-binding-%d", i)
			b.RoleRef.Name = fmt.Sprintf("application-controller-%d", i%v1alpha1.MaxRoles)
			b.Subjects = append(b.Subjects, v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, Name: "application-controller", Namespace: "platform-system"})
			full.Spec.Bindings = append(full.Spec.Bindings, b)
		}
		roles, _ := json.Marshal(full.Spec.Roles)
		bindings, _ := json.Marshal(full.Spec.Bindings)
		GinkgoWriter.Printf("full baseline: %d bytes of roles (%d each), %d of bindings (%d each)\n",
			len(roles), len(roles)/len(full.Spec.Roles), len(bindings), len(bindings)/len(full.Spec.Bindings))
		Expect(len(roles) / len(full.Spec.Roles)).To(BeNumerically(">=", 500))
		Expect(offline(full)).To(BeEmpty())
		Expect(k8sClient.Create(ctx, full)).To(Succeed())
	})

	It("accepts every sample in config/samples", func() {
		files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(3))
		for _, f := range files {
			data, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			rb := &v1alpha1.RoleBaseline{}
			Expect(yaml.UnmarshalStrict(data, rb)).To(Succeed(), f)
			Expect(offline(rb)).To(BeEmpty(), f)
			Expect(k8sClient.Create(ctx, rb)).To(Succeed(), f)
		}
	})

	DescribeTable("refuses a bad baseline with a message naming the field",
		func(mutate func(*v1alpha1.RoleBaseline), field, message string) {
			rb := validBaseline()
			mutate(rb)
			offline := offline(rb)
			err := k8sClient.Create(ctx, rb)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
			Expect(err.Error()).To(ContainSubstring(message))
			Expect(offline).NotTo(BeEmpty(), "the API server refused it (%v); offline validation accepted it", err)
			Expect(offline.ToAggregate().Error()).To(ContainSubstring(field))
			Expect(offline.ToAggregate().Error()).To(ContainSubstring(message))
		},
		Entry("mode not in the enum", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Mode = "Sync" },
			"spec.mode", `Unsupported value: "Sync"`),
		Entry("unmanaged not in the enum", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Unmanaged = "Delete" },
			"spec.unmanaged", `Unsupported value: "Delete"`),
		Entry("scope that selects nothing", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec = v1alpha1.RoleBaselineSpec{}
		}, "spec.scope", "spec.scope selects nothing"),
		Entry("namespace that is not a DNS label", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Scope.Namespaces = []string{"Team_A"} },
			"spec.scope.namespaces[0]", "should match"),
		Entry("too many namespaces", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Scope.Namespaces = names(257) },
			"spec.scope.namespaces", "must have at most 256 items"),
		Entry("namespaced Role with no namespace in scope", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Scope.Namespaces = nil
			rb.Spec.Bindings = nil
		}, "spec", "spec.roles has a namespaced Role: set spec.scope.namespaces or spec.scope.namespaceSelector"),
		Entry("RoleBinding with no namespace in scope", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Scope.Namespaces = nil
			rb.Spec.Roles = rb.Spec.Roles[1:]
		}, "spec", "spec.bindings has a RoleBinding: set spec.scope.namespaces or spec.scope.namespaceSelector"),
		Entry("ClusterRole without cluster-scoped objects in scope", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Scope.ClusterScoped = false },
			"spec", "spec.roles has a ClusterRole: set spec.scope.clusterScoped to true"),
		Entry("ClusterRoleBinding without cluster-scoped objects in scope", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Scope.ClusterScoped = false
			rb.Spec.Roles = rb.Spec.Roles[:1]
			rb.Spec.Bindings = append(rb.Spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindClusterRoleBinding, Name: "crb",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"}})
		}, "spec", "spec.bindings has a ClusterRoleBinding: set spec.scope.clusterScoped to true"),
		Entry("rule with no verbs", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Rules[0].Verbs = []string{} },
			"spec.roles[0].rules[0].verbs", "should have at least 1 items"),
		Entry("rule with an empty verb", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Rules[0].Verbs = []string{""} },
			"spec.roles[0].rules[0].verbs[0]", "should be at least 1 chars long"),
		Entry("rule with both resources and nonResourceURLs", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Roles[1].Rules[0].Resources = []string{"pods"}
			rb.Spec.Roles[1].Rules[0].APIGroups = []string{""}
		}, "spec.roles[1].rules[0]", "a rule names either resources (with apiGroups) or nonResourceURLs, not both and not neither"),
		Entry("rule with neither resources nor nonResourceURLs", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Roles[0].Rules[0].Resources = nil
		}, "spec.roles[0].rules[0]", "a rule names either resources (with apiGroups) or nonResourceURLs"),
		Entry("rule with resources but no apiGroups", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Rules[0].APIGroups = nil },
			"spec.roles[0].rules[0]", `a rule with resources needs apiGroups: use [""] for the core group`),
		Entry("role with neither rules nor aggregationRule", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Rules = nil },
			"spec.roles[0]", "a role declares either rules or aggregationRule, not both and not neither"),
		Entry("role with both rules and aggregationRule", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Roles[1].AggregationRule = &v1alpha1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"a": "b"}}}}
		}, "spec.roles[1]", "a role declares either rules or aggregationRule, not both and not neither"),
		Entry("aggregationRule on a Role", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Roles[0].Rules = nil
			rb.Spec.Roles[0].AggregationRule = &v1alpha1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"a": "b"}}}}
		}, "spec.roles[0]", "only a ClusterRole may have an aggregationRule"),
		Entry("nonResourceURLs on a Role", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Roles[0].Rules = []v1alpha1.PolicyRule{{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}}
		}, "spec.roles[0]", "a Role cannot carry nonResourceURLs: declare a ClusterRole instead"),
		Entry("role kind not in the enum", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Kind = "Policy" },
			"spec.roles[0].kind", `Unsupported value: "Policy"`),
		Entry("namespaces on a ClusterRole", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[1].Namespaces = []string{"team-a"} },
			"spec.roles[1]", "a ClusterRole is cluster-scoped and has no namespaces"),
		Entry("namespaces on a ClusterRoleBinding", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Bindings = append(rb.Spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindClusterRoleBinding, Name: "crb",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"}, Namespaces: []string{"team-a"}})
		}, "spec.bindings[1]", "a ClusterRoleBinding is cluster-scoped and has no namespaces"),
		Entry("a declaration's namespace that is not a DNS label", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Namespaces = []string{"Team_A"} },
			"spec.roles[0].namespaces[0]", "should match"),
		Entry("too many roles", func(rb *v1alpha1.RoleBaseline) {
			for i := range v1alpha1.MaxRoles - 1 {
				rb.Spec.Roles = append(rb.Spec.Roles, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: fmt.Sprintf("r%d", i), Rules: rb.Spec.Roles[0].Rules})
			}
		}, "spec.roles", fmt.Sprintf("must have at most %d items", v1alpha1.MaxRoles)),
		Entry("ClusterRoleBinding that references a Role", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Bindings = append(rb.Spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindClusterRoleBinding, Name: "crb",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "reader"}})
		}, "spec.bindings[1]", "a ClusterRoleBinding can only reference a ClusterRole: set roleRef.kind to ClusterRole"),
		Entry("ServiceAccount subject of a ClusterRoleBinding without namespace", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Scope.ClusterScoped = true
			rb.Spec.Bindings[0].Kind, rb.Spec.Bindings[0].RoleRef.Kind = v1alpha1.KindClusterRoleBinding, v1alpha1.KindClusterRole
			rb.Spec.Bindings[0].Subjects[1].Namespace = ""
		}, "spec.bindings[0]", "a ServiceAccount subject of a ClusterRoleBinding needs namespace"),
		Entry("ServiceAccount ceiling without namespace", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Subjects[0].Subject = v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, Name: "deployer"}
		}, "spec.subjects[0]", "a ServiceAccount subject needs namespace"),
		Entry("ServiceAccount subject with an apiGroup", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Bindings[0].Subjects[1].APIGroup = v1alpha1.RBACGroup },
			"spec.bindings[0].subjects[1]", "a ServiceAccount subject has an empty apiGroup"),
		Entry("Group subject without apiGroup", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Bindings[0].Subjects[0].APIGroup = "" },
			"spec.bindings[0].subjects[0]", "a User or Group subject needs apiGroup: rbac.authorization.k8s.io"),
		Entry("User subject with a namespace", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Bindings[0].Subjects[0].Kind = v1alpha1.SubjectUser
			rb.Spec.Bindings[0].Subjects[0].Namespace = "team-a"
		}, "spec.bindings[0].subjects[0]", "only a ServiceAccount subject has a namespace"),
		Entry("subject kind not in the enum", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Subjects[0].Subject.Kind = "Robot" },
			"spec.subjects[0].subject.kind", `Unsupported value: "Robot"`),
		Entry("the same subject with two ceilings", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Subjects = append(rb.Spec.Subjects, rb.Spec.Subjects[0]) },
			"spec.subjects", "spec.subjects lists the same subject twice: merge its rules into one ceiling"),
		Entry("guardrail ID not in the catalog", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Guardrails.Rules[0].ID = "no-such-rule" },
			"spec.guardrails.rules[0].id", `Unsupported value: "no-such-rule"`),
		Entry("severity not in the enum", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Guardrails.Rules[0].Severity = "Urgent" },
			"spec.guardrails.rules[0].severity", `Unsupported value: "Urgent"`),
		Entry("guardrail set not in the enum", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Guardrails.Set = "Some" },
			"spec.guardrails.set", `Unsupported value: "Some"`),
		Entry("exception that names nothing", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Guardrails.Exceptions[0] = v1alpha1.GuardrailException{Reason: "everything"}
		}, "spec.guardrails.exceptions[0]", "an exception must name subjects or an object"),
		Entry("exception without a reason", func(rb *v1alpha1.RoleBaseline) { rb.Spec.Guardrails.Exceptions[0].Reason = "" },
			"spec.guardrails.exceptions[0].reason", "should be at least 1 chars long"),
		Entry("exception with a namespace on a cluster-scoped kind", func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Guardrails.Exceptions[0].Namespace = "team-a"
		}, "spec.guardrails.exceptions[0]", "namespace applies only to kind Role or RoleBinding"),
	)
})

var _ = Describe("RoleBaseline status", func() {
	It("is written through the status subresource only", func() {
		rb := validBaseline()
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())

		By("ignoring status in an update of the main resource")
		rb.Status.ObservedGeneration = 7
		rb.Status.Counts.Drifts = 3
		rb.Spec.Mode = v1alpha1.ModeEnforce
		Expect(k8sClient.Update(ctx, rb)).To(Succeed())
		got := &v1alpha1.RoleBaseline{}
		Expect(k8sClient.Get(ctx, clientKey(rb), got)).To(Succeed())
		Expect(got.Spec.Mode).To(Equal(v1alpha1.ModeEnforce))
		Expect(got.Status.ObservedGeneration).To(BeZero())
		Expect(got.Status.Counts.Drifts).To(BeZero())

		By("keeping status written through the status subresource, and ignoring spec there")
		got.Status.ObservedGeneration = got.Generation
		got.Status.Counts = v1alpha1.FindingCounts{Drifts: 1, ByType: map[v1alpha1.FindingType]int32{v1alpha1.FindingRulesAdded: 1}}
		got.Status.Findings = []v1alpha1.Finding{{Type: v1alpha1.FindingRulesAdded, Object: v1alpha1.ObjectReference{Kind: "Role", Namespace: "team-a", Name: "reader"},
			Rules: []v1alpha1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}}
		meta.SetStatusCondition(&got.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionInSync, Status: metav1.ConditionFalse,
			Reason: v1alpha1.ReasonDriftDetected, Message: "1 drift"})
		got.Spec.Mode = v1alpha1.ModeAudit
		Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
		after := &v1alpha1.RoleBaseline{}
		Expect(k8sClient.Get(ctx, clientKey(rb), after)).To(Succeed())
		Expect(after.Spec.Mode).To(Equal(v1alpha1.ModeEnforce))
		Expect(after.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(after.Status.Findings).To(HaveLen(1))
		Expect(meta.IsStatusConditionFalse(after.Status.Conditions, v1alpha1.ConditionInSync)).To(BeTrue())
	})

	It("refuses a findings list past its cap, so status stays bounded", func() {
		rb := validBaseline()
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		for i := range 101 {
			rb.Status.Findings = append(rb.Status.Findings, v1alpha1.Finding{Type: v1alpha1.FindingMissing,
				Object: v1alpha1.ObjectReference{Kind: "Role", Namespace: "team-a", Name: fmt.Sprintf("r%d", i)}})
		}
		err := k8sClient.Status().Update(ctx, rb)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("status.findings: Too many: 101: must have at most 100 items"))
	})
})

// A rule copied from a live Role must decode into the baseline's PolicyRule unchanged.
var _ = It("decodes an rbac/v1 rule into the baseline's PolicyRule field for field", func() {
	live := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/exec"},
		ResourceNames: []string{"a"}, NonResourceURLs: []string{"/x"}}
	data, err := json.Marshal(live)
	Expect(err).NotTo(HaveOccurred())
	var rule v1alpha1.PolicyRule
	Expect(yaml.UnmarshalStrict(data, &rule)).To(Succeed())
	Expect(rule).To(Equal(v1alpha1.PolicyRule{Verbs: live.Verbs, APIGroups: live.APIGroups, Resources: live.Resources,
		ResourceNames: live.ResourceNames, NonResourceURLs: live.NonResourceURLs}))
})
