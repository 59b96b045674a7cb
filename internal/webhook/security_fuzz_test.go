package webhook_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// permission is one probe: verb on a core resource in the test namespace.
type permission struct{ verb, resource string }

var probes = []permission{{"get", "pods"}, {"list", "pods"}, {"get", "secrets"}, {"list", "secrets"},
	{"get", "services"}, {"delete", "pods"}, {"create", "configmaps"}, {"get", "configmaps"}}

func ruleFor(p permission) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{p.resource}, Verbs: []string{p.verb}}
}

func allowedTo(user, ns string, p permission) bool {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: p.verb, Resource: p.resource}}}
	Expect(k8sClient.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

var _ = Describe("Security property: random baselines by random non-admin authors", func() {
	It("never leaves a subject bound in scope with a permission its author could not grant", func() {
		rng := rand.New(rand.NewPCG(20261203, 1)) // fixed: a failure replays
		accepted, refused := 0, 0
		for round := range 12 {
			ns := createNamespace()
			author := unique("author")
			// The author: a random slice of the probes, and maybe the right to write RBAC in ns.
			var held []rbacv1.PolicyRule
			for _, p := range probes {
				if rng.IntN(2) == 0 {
					held = append(held, ruleFor(p))
				}
			}
			if rng.IntN(3) > 0 {
				held = append(held, rbacWriter)
			}
			c, _ := userClient(author, nil, editorClusterRole())
			if len(held) > 0 {
				Expect(k8sClient.Create(ctx, newRole(ns, "author-rights", held...))).To(Succeed())
				Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "author-rights"},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "author-rights"},
					Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: author}}})).To(Succeed())
			}
			// The baseline: random roles, bindings of fresh subjects to them or to view/edit.
			rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("random")}, Spec: v1alpha1.RoleBaselineSpec{
				Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone}}}
			for i := range 1 + rng.IntN(2) {
				var rules []rbacv1.PolicyRule
				for _, p := range probes {
					if rng.IntN(3) == 0 {
						rules = append(rules, ruleFor(p))
					}
				}
				if len(rules) == 0 {
					rules = append(rules, ruleFor(probes[0]))
				}
				rb.Spec.Roles = append(rb.Spec.Roles, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: fmt.Sprintf("role-%d", i), Rules: drift.ToAPIRules(rules...)})
			}
			var subjects []string
			for i := range 1 + rng.IntN(2) {
				ref := v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: rb.Spec.Roles[rng.IntN(len(rb.Spec.Roles))].Name}
				if rng.IntN(4) == 0 {
					ref = v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: []string{"view", "edit"}[rng.IntN(2)]}
				}
				subject := unique("bound")
				subjects = append(subjects, subject)
				rb.Spec.Bindings = append(rb.Spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindRoleBinding, Name: fmt.Sprintf("binding-%d", i),
					RoleRef: ref, Subjects: []v1alpha1.Subject{userSubject(subject)}})
			}
			if rng.IntN(3) == 0 {
				rb.Spec.Unmanaged = v1alpha1.UnmanagedRemove
			}
			// What the author may do before: unmanaged: Remove may delete their own grant.
			before := map[permission]bool{}
			for _, p := range probes {
				before[p] = allowedTo(author, ns, p)
			}
			if err := c.Create(ctx, rb); err != nil {
				Expect(err.Error()).To(ContainSubstring("cannot"), "round %d: a refusal says why", round)
				refused++
				continue
			}
			accepted++
			Eventually(func(g Gomega) {
				got := &v1alpha1.RoleBaseline{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rb), got)).To(Succeed())
				g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionEnforced)).To(BeTrue())
			}, 30*time.Second).Should(Succeed(), "round %d converges", round)
			for _, s := range subjects {
				for _, p := range probes {
					if allowedTo(s, ns, p) {
						Expect(before[p]).To(BeTrue(),
							"round %d: %s may %s %s through %s's baseline, which %s may not", round, s, p.verb, p.resource, author, author)
					}
				}
			}
		}
		fmt.Fprintf(GinkgoWriter, "%d accepted, %d refused\n", accepted, refused)
		Expect(accepted).To(BeNumerically(">", 0), "the property was checked on accepted baselines")
		Expect(refused).To(BeNumerically(">", 0), "and some were refused")
	})
})
