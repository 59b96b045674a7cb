package crd_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/config/crd"
	"github.com/rbac-guardrails/rbac-guardrails/internal/crdvalidation"
)

func validGrant() *v1alpha1.AccessGrant {
	nameSeq++
	return &v1alpha1.AccessGrant{ObjectMeta: metav1.ObjectMeta{Name: "grant-" + time.Now().Format("150405.000000") + "-" + string(rune('a'+nameSeq%26))},
		Spec: v1alpha1.AccessGrantSpec{Baseline: "team-a", Requester: "alice",
			Role: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "edit"}, Namespaces: []string{"team-a"},
			Duration: metav1.Duration{Duration: time.Hour}, Reason: "INC-42"}}
}

func offlineGrant(g *v1alpha1.AccessGrant) field.ErrorList {
	GinkgoHelper()
	v, err := crdvalidation.New(crd.AccessGrants, v1alpha1.GroupVersion.Version)
	Expect(err).NotTo(HaveOccurred())
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(g.DeepCopy())
	Expect(err).NotTo(HaveOccurred())
	obj["apiVersion"], obj["kind"] = v1alpha1.GroupVersion.String(), "AccessGrant"
	return v.Validate(ctx, obj)
}

var _ = Describe("AccessGrant validation", func() {
	It("accepts a valid grant", func() {
		g := validGrant()
		Expect(offlineGrant(g)).To(BeEmpty())
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
	})

	DescribeTable("refuses a bad grant on create with a message naming the field",
		func(mutate func(*v1alpha1.AccessGrant), field, message string) {
			g := validGrant()
			mutate(g)
			offline := offlineGrant(g)
			err := k8sClient.Create(ctx, g)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
			Expect(err.Error()).To(ContainSubstring(message))
			Expect(offline.ToAggregate()).To(HaveOccurred(), "the API server refused it (%v); offline validation accepted it", err)
			Expect(offline.ToAggregate().Error()).To(ContainSubstring(message))
		},
		Entry("zero duration", func(g *v1alpha1.AccessGrant) { g.Spec.Duration.Duration = 0 }, "spec.duration", "spec.duration must be positive"),
		Entry("negative duration", func(g *v1alpha1.AccessGrant) { g.Spec.Duration.Duration = -time.Minute }, "spec.duration", "spec.duration must be positive"),
		Entry("no reason", func(g *v1alpha1.AccessGrant) { g.Spec.Reason = "" }, "spec.reason", "should be at least 1 chars long"),
		Entry("a Role in two namespaces", func(g *v1alpha1.AccessGrant) {
			g.Spec.Role.Kind = v1alpha1.KindRole
			g.Spec.Namespaces = []string{"a", "b"}
		}, "spec", "a Role is granted in its own namespace"),
		Entry("a subject of an unknown kind", func(g *v1alpha1.AccessGrant) {
			g.Spec.Subject = &v1alpha1.Subject{Kind: "Robot", Name: "r2"}
		}, "spec.subject.kind", `Unsupported value: "Robot"`),
		Entry("a ServiceAccount subject with an apiGroup", func(g *v1alpha1.AccessGrant) {
			g.Spec.Subject = &v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, APIGroup: rbacv1.GroupName, Name: "ci", Namespace: "ci"}
		}, "spec.subject", "a ServiceAccount subject has an empty apiGroup"),
	)

	DescribeTable("refuses an edit after the approval decision",
		func(mutate func(*v1alpha1.AccessGrant), message string) {
			g := validGrant()
			g.Spec.Approval = &v1alpha1.GrantApproval{Decision: v1alpha1.GrantDecisionApproved, By: "bob"}
			Expect(k8sClient.Create(ctx, g)).To(Succeed())
			mutate(g)
			err := k8sClient.Update(ctx, g)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a longer duration", func(g *v1alpha1.AccessGrant) { g.Spec.Duration.Duration = 8 * time.Hour }, "a grant cannot be edited after its approval decision"),
		Entry("another role", func(g *v1alpha1.AccessGrant) { g.Spec.Role.Name = "admin" }, "a grant cannot be edited after its approval decision"),
		Entry("more namespaces", func(g *v1alpha1.AccessGrant) { g.Spec.Namespaces = append(g.Spec.Namespaces, "prod") }, "a grant cannot be edited after its approval decision"),
		Entry("another subject", func(g *v1alpha1.AccessGrant) {
			g.Spec.Subject = &v1alpha1.Subject{Kind: v1alpha1.SubjectUser, APIGroup: rbacv1.GroupName, Name: "mallory"}
		}, "a grant cannot be edited after its approval decision"),
		Entry("a new decision", func(g *v1alpha1.AccessGrant) { g.Spec.Approval.Decision = v1alpha1.GrantDecisionDenied }, "spec.approval: the decision is final"),
		Entry("another requester", func(g *v1alpha1.AccessGrant) { g.Spec.Requester = "mallory" }, "spec.requester cannot change"),
	)

	It("lets a grant be revoked after approval, and not un-revoked", func() {
		g := validGrant()
		g.Spec.Approval = &v1alpha1.GrantApproval{Decision: v1alpha1.GrantDecisionApproved, By: "bob"}
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
		g.Spec.Revoked = true
		Expect(k8sClient.Update(ctx, g)).To(Succeed())
		g.Spec.Revoked = false
		err := k8sClient.Update(ctx, g)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("a revoked grant stays revoked"))
	})

	It("refuses a grants policy with a bad maxDuration or a repeated name", func() {
		rb := validBaseline()
		rule := v1alpha1.GrantPolicy{Name: "oncall", Roles: []v1alpha1.RoleRef{{Kind: v1alpha1.KindClusterRole, Name: "edit"}},
			Subjects:    []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: "oncall"}},
			MaxDuration: metav1.Duration{Duration: -time.Hour}}
		rb.Spec.Grants = []v1alpha1.GrantPolicy{rule}
		err := k8sClient.Create(ctx, rb)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.grants[0].maxDuration"))
		rule.MaxDuration.Duration = 4 * time.Hour
		rb.Spec.Grants = []v1alpha1.GrantPolicy{rule, rule}
		err = k8sClient.Create(ctx, rb)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("Duplicate value"))
		rb.Spec.Grants = []v1alpha1.GrantPolicy{rule}
		Expect(offline(rb)).To(BeEmpty())
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
	})
})
