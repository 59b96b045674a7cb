package webhook_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var (
	readServices = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list"}}
	editorRule   = rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"rolebaselines"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}
)

// alice may edit RoleBaselines and read pods and services in ns: `kubectl auth can-i
// update roles -n ns` and `create rolebindings -n ns` both say no.
func alice(ns string) (string, client.Client) {
	name := unique("alice")
	editor := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline-editor")}, Rules: []rbacv1.PolicyRule{editorRule}}
	Expect(k8sClient.Create(ctx, editor)).To(Succeed())
	c, _ := userClient(name, nil, editor.Name)
	reader := newRole(ns, unique("reader"), readPods, readServices)
	Expect(k8sClient.Create(ctx, reader)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: reader.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: reader.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}})).To(Succeed())
	Expect(can(name, "update", "roles", ns)).To(BeFalse())
	Expect(can(name, "create", "rolebindings", ns)).To(BeFalse())
	return name, c
}

// can asks the API server whether user may verb the RBAC resource in ns ("" cluster-wide).
func can(user, verb, resource, ns string) bool {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: rbacv1.GroupName, Resource: resource, Namespace: ns}}}
	Expect(k8sClient.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

func canGetSecrets(user string) bool {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets"}}}
	Expect(k8sClient.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

func userSubject(name string) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectUser, APIGroup: v1alpha1.RBACGroup, Name: name}
}

func enforceDenied(err error, substrings ...string) {
	GinkgoHelper()
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
	for _, s := range substrings {
		Expect(err.Error()).To(ContainSubstring(s))
	}
}

var _ = Describe("Security: the operator never writes for a baseline author what the author could not", func() {
	It("refuses to adopt and rewrite an existing Role, or rebind an existing binding", func() {
		ns := createNamespace()
		name, c := alice(ns)
		opsRole := newRole(ns, "ops-role", readPods, readSecrets, readServices)
		Expect(k8sClient.Create(ctx, opsRole)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ops-binding"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ops-role"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "ops"}}})).To(Succeed())

		rb := baseline(v1alpha1.ModeEnforce, ns, "ops-role", readPods)
		enforceDenied(c.Create(ctx, rb), "would make the operator do what "+name+" cannot",
			"may not create roles.rbac.authorization.k8s.io named ops-role in namespace "+ns)

		rebind := baseline(v1alpha1.ModeEnforce, ns, "ops-role", readPods)
		rebind.Spec.Roles = nil
		rebind.Spec.Bindings = []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "ops-binding",
			RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "ops-role"}, Subjects: []v1alpha1.Subject{userSubject("mallory")}}}
		enforceDenied(c.Create(ctx, rebind), "RoleBinding "+ns+"/ops-binding", "rolebindings.rbac.authorization.k8s.io named ops-binding")

		Expect(getRole(ns, "ops-role").Rules).To(HaveLen(3), "the Role keeps its rules")
	})

	It("refuses RemoveSubjects on an admin binding and unmanaged: Remove of others' bindings", func() {
		ns := createNamespace()
		_, c := alice(ns)
		strip := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("strip")}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{ClusterScoped: true},
			Guardrails:  v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone, Rules: []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailClusterAdminBinding, Enabled: ptr.To(true)}}},
			Enforcement: v1alpha1.Enforcement{Violations: v1alpha1.ViolationRemoveSubjects}}}
		enforceDenied(c.Create(ctx, strip), "violations: RemoveSubjects", "may not update clusterrolebindings.rbac.authorization.k8s.io cluster-wide")

		remove := baseline(v1alpha1.ModeEnforce, ns, "ops-role", readPods)
		remove.Spec.Roles = nil
		remove.Spec.Unmanaged = v1alpha1.UnmanagedRemove
		enforceDenied(c.Create(ctx, remove), "unmanaged: Remove deletes undeclared objects", "may not delete roles.rbac.authorization.k8s.io in namespace "+ns)
	})

	It("names the declaration an update adds first, then counts the rest", func() {
		ns := createNamespace()
		lead, c := baselineAuthor(ns) // may write Roles in ns, holds read pods only
		rb := baseline(v1alpha1.ModeEnforce, ns, "secret-reader", readSecrets)
		Expect(k8sClient.Create(ctx, rb)).To(Succeed()) // an admin's: the lead could not grant secrets
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(c.Get(ctx, client.ObjectKeyFromObject(rb), rb)).To(Succeed())
			rb.Spec.Roles = append(rb.Spec.Roles, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: "service-reader", Rules: drift.ToAPIRules(readServices)})
			return c.Update(ctx, rb)
		})
		enforceDenied(err, "would make the operator do what "+lead+" cannot: Role "+ns+"/service-reader grants get services", "(and 1 more)")
	})

	It("refuses a switch to Enforce by a user who may not write the objects", func() {
		ns := createNamespace()
		_, c := alice(ns)
		rb := baseline(v1alpha1.ModeAudit, ns, "viewer", readPods)
		Expect(c.Create(ctx, rb)).To(Succeed())
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(c.Get(ctx, client.ObjectKeyFromObject(rb), rb)).To(Succeed())
			rb.Spec.Mode = v1alpha1.ModeEnforce
			return c.Update(ctx, rb)
		})
		enforceDenied(err, "named viewer in namespace "+ns)
	})

	It("refuses an aggregation selector or a name the controller could not use", func() {
		bogus := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("bogus")}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: v1alpha1.ModeAudit, Scope: v1alpha1.Scope{ClusterScoped: true},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "agg", AggregationRule: &v1alpha1.AggregationRule{
				ClusterRoleSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}}}}}
		err := k8sClient.Create(ctx, bogus)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.roles[0].aggregationRule.clusterRoleSelectors[0]"))
	})

	It("restricts and announces switching Enforce to Audit", func() {
		ns := createNamespace()
		_, c := baselineAuthor(ns)
		rb := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods)
		Expect(k8sClient.Create(ctx, rb)).To(Succeed()) // approved by the admin
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(c.Get(ctx, client.ObjectKeyFromObject(rb), rb)).To(Succeed())
			rb.Spec.Mode = v1alpha1.ModeAudit
			return c.Update(ctx, rb)
		})
		enforceDenied(err, "switching it from Enforce to Audit is reserved to its approver", relaxers)

		relaxerName := unique("relaxer")
		relaxer, _ := userClient(relaxerName, []string{relaxers}, editorClusterRole())
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(relaxer.Get(ctx, client.ObjectKeyFromObject(rb), rb)).To(Succeed())
			rb.Spec.Mode = v1alpha1.ModeAudit
			return relaxer.Update(ctx, rb)
		})).To(Succeed())
		Eventually(func() bool { return hasEvent(rb.Name, v1alpha1.ReasonEnforcementRelaxed) }).Should(BeTrue())
		Eventually(func(g Gomega) string {
			got := &v1alpha1.RoleBaseline{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rb), got)).To(Succeed())
			c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEnforced)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonEnforcementRelaxed))
			return c.Message
		}).Should(ContainSubstring(relaxerName + " switched this baseline from Enforce to Audit"))
	})

	It("writes nothing for an Enforce baseline stored while the webhook was absent, until someone entitled approves it", func() {
		ns := createNamespace()
		name, c := alice(ns)
		By("removing the RoleBaseline webhook, as if it were not installed or were bypassed")
		restore := removeBaselineWebhook()
		grab := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("grab")}, Spec: v1alpha1.RoleBaselineSpec{
			Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{ClusterScoped: true}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: name + "-secrets", Rules: drift.ToAPIRules(
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}})}},
			Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindClusterRoleBinding, Name: name + "-secrets",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: name + "-secrets"}, Subjects: []v1alpha1.Subject{userSubject(name)}}}}}
		Expect(c.Create(ctx, grab)).To(Succeed())
		Eventually(func(g Gomega) string {
			got := &v1alpha1.RoleBaseline{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(grab), got)).To(Succeed())
			c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEnforced)
			g.Expect(c).NotTo(BeNil())
			return c.Reason
		}).Should(Equal(v1alpha1.ReasonNotApproved))
		stalled := meta.FindStatusCondition(getBaseline(grab.Name).Status.Conditions, v1alpha1.ConditionStalled)
		Expect(stalled).NotTo(BeNil())
		Expect(stalled.Reason).To(Equal(v1alpha1.ReasonNotApproved))
		Consistently(func() bool { return canGetSecrets(name) }, 2*time.Second).Should(BeFalse())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: name + "-secrets"}, &rbacv1.ClusterRole{}))).To(BeTrue())

		By("with the webhook back, alice cannot approve it, and an admin can")
		restore()
		touch := func(cl client.Client) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				got := &v1alpha1.RoleBaseline{}
				if err := cl.Get(ctx, client.ObjectKeyFromObject(grab), got); err != nil {
					return err
				}
				metav1.SetMetaDataAnnotation(&got.ObjectMeta, approval.ReapproveAnnotation, time.Now().Format(time.RFC3339Nano))
				return cl.Update(ctx, got)
			})
		}
		Eventually(func() error { return touch(c) }).Should(MatchError(ContainSubstring("would make the operator do what " + name + " cannot")))
		Expect(touch(k8sClient)).To(Succeed())
		Eventually(func() bool { return canGetSecrets(name) }).Should(BeTrue(), "approved by an admin, the baseline is enforced")
	})
})

// removeBaselineWebhook deletes the RoleBaseline webhook from its configuration and
// returns a function that puts it back.
func removeBaselineWebhook() func() {
	var cfgs admissionregistrationv1.ValidatingWebhookConfigurationList
	Expect(k8sClient.List(ctx, &cfgs)).To(Succeed())
	for i := range cfgs.Items {
		cfg := &cfgs.Items[i]
		for j, w := range cfg.Webhooks {
			if w.Name != "rolebaseline.guardrails.rbac-guardrails.io" {
				continue
			}
			saved := *w.DeepCopy()
			cfg.Webhooks = append(cfg.Webhooks[:j:j], cfg.Webhooks[j+1:]...)
			Expect(k8sClient.Update(ctx, cfg)).To(Succeed())
			name := cfg.Name
			restored := false
			restore := func() {
				if restored {
					return
				}
				restored = true
				Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
					got := &admissionregistrationv1.ValidatingWebhookConfiguration{}
					if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, got); err != nil {
						return err
					}
					got.Webhooks = append(got.Webhooks, saved)
					return k8sClient.Update(ctx, got)
				})).To(Succeed())
				// The API server reloads webhook configurations from its informer.
				time.Sleep(2 * time.Second)
			}
			DeferCleanup(restore)
			time.Sleep(2 * time.Second)
			return restore
		}
	}
	Fail("no RoleBaseline webhook is installed")
	return nil
}

// editorClusterRole creates a ClusterRole that edits RoleBaselines and returns its name.
func editorClusterRole() string {
	editor := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline-editor")}, Rules: []rbacv1.PolicyRule{editorRule}}
	Expect(k8sClient.Create(ctx, editor)).To(Succeed())
	return editor.Name
}

// hasEvent reports whether an event with reason is recorded about the named RoleBaseline.
func hasEvent(name, reason string) bool {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list)).To(Succeed())
	for _, e := range list.Items {
		if e.Regarding.Kind == "RoleBaseline" && e.Regarding.Name == name && e.Reason == reason {
			return true
		}
	}
	return false
}

func getBaseline(name string) *v1alpha1.RoleBaseline {
	rb := &v1alpha1.RoleBaseline{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, rb)).To(Succeed())
	return rb
}
