package webhook_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

var _ = Describe("AccessGrant webhooks", func() {
	// A baseline whose policy lets on-call engineers have edit in their namespace for
	// up to four hours, approved by a lead.
	setup := func() (ns, baseline, oncall, leads string) {
		ns = createNamespace()
		oncall, leads = unique("oncall"), unique("leads")
		rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline")}, Spec: v1alpha1.RoleBaselineSpec{
			Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
			Grants: []v1alpha1.GrantPolicy{{Name: "oncall-edit", Roles: []v1alpha1.RoleRef{{Kind: v1alpha1.KindClusterRole, Name: "edit"}},
				Subjects:    []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: oncall}},
				MaxDuration: metav1.Duration{Duration: 4 * time.Hour}, Approvers: leads}}}}
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		return ns, rb.Name, oncall, leads
	}
	grant := func(baseline, ns string) *v1alpha1.AccessGrant {
		return &v1alpha1.AccessGrant{ObjectMeta: metav1.ObjectMeta{Name: unique("grant")}, Spec: v1alpha1.AccessGrantSpec{
			Baseline: baseline, Role: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "edit"}, Namespaces: []string{ns},
			Duration: metav1.Duration{Duration: time.Hour}, Reason: "INC-4711"}}
	}

	It("records the requester, admits what the policy allows and refuses the rest naming the rule and field", func() {
		ns, baseline, oncall, _ := setup()
		alice, _ := userClient(unique("alice"), []string{oncall}, "cluster-admin")
		g := grant(baseline, ns)
		g.Spec.Requester = "someone-else" // overwritten at admission
		Expect(alice.Create(ctx, g)).To(Succeed())
		got := &v1alpha1.AccessGrant{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), got)).To(Succeed())
		Expect(got.Spec.Requester).To(HavePrefix("alice-"))
		Expect(got.Spec.RequesterGroups).To(ContainElement(oncall))

		mallory, _ := userClient(unique("mallory"), []string{"devs"}, "cluster-admin")
		err := mallory.Create(ctx, grant(baseline, ns))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("rule oncall-edit: spec.subject: User mallory-"))

		long := grant(baseline, ns)
		long.Spec.Duration.Duration = 8 * time.Hour
		err = alice.Create(ctx, long)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.duration: 8h0m0s is longer than its maxDuration 4h0m0s"))

		unknown := grant(baseline, ns)
		unknown.Spec.Role.Name = "no-such-role"
		err = alice.Create(ctx, unknown)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.role: ClusterRole no-such-role does not exist"))

		missing := grant("no-such-baseline", ns)
		err = alice.Create(ctx, missing)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.baseline: RoleBaseline no-such-baseline does not exist"))

		preApproved := grant(baseline, ns)
		preApproved.Spec.Approval = &v1alpha1.GrantApproval{Decision: v1alpha1.GrantDecisionApproved}
		err = alice.Create(ctx, preApproved)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.approval: a grant is approved after it is created"))
	})

	It("takes an approval only from another member of the approvers who may grant the role", func() {
		ns, baseline, oncall, leads := setup()
		aliceName := unique("alice")
		alice, _ := userClient(aliceName, []string{oncall, leads}, "cluster-admin")
		g := grant(baseline, ns)
		Expect(alice.Create(ctx, g)).To(Succeed())
		// The controller writes the grant's status meanwhile: retry a conflict.
		decide := func(c client.Client, by string, d v1alpha1.GrantDecision) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				cur := &v1alpha1.AccessGrant{}
				Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), cur)).To(Succeed())
				cur.Spec.Approval = &v1alpha1.GrantApproval{Decision: d, By: by}
				return c.Update(ctx, cur)
			})
		}

		By("refusing self-approval, even by a member of the approvers")
		err := decide(alice, aliceName, v1alpha1.GrantDecisionApproved)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("the requester cannot decide on their own grant"))

		By("refusing someone outside the approvers")
		daveName := unique("dave")
		dave, _ := userClient(daveName, []string{"devs"}, "cluster-admin")
		err = decide(dave, daveName, v1alpha1.GrantDecisionApproved)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("is not in group " + leads))

		By("refusing an approver who may not grant edit there themselves")
		editor := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique("grant-editor")}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"accessgrants"}, Verbs: []string{"get", "update"}}}}
		Expect(k8sClient.Create(ctx, editor)).To(Succeed())
		carolName := unique("carol")
		carol, _ := userClient(carolName, []string{leads}, editor.Name)
		err = decide(carol, carolName, v1alpha1.GrantDecisionApproved)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("may not grant ClusterRole edit in namespace " + ns + " themselves (bind)"))

		By("refusing a decision recorded under another name")
		bobName := unique("bob")
		bob, _ := userClient(bobName, []string{leads}, "cluster-admin")
		err = decide(bob, carolName, v1alpha1.GrantDecisionApproved)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.approval.by: the decision is recorded as its maker's, " + bobName))

		By("taking the approval of a lead who may grant edit")
		Expect(decide(bob, bobName, v1alpha1.GrantDecisionApproved)).To(Succeed())
		got := &v1alpha1.AccessGrant{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(g), got)).To(Succeed())
		Expect(got.Spec.Approval.By).To(Equal(bobName))
	})
})
