package webhook_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// rbacWriter lets a namespace's team lead write its Roles and RoleBindings: what an
// Enforce baseline makes the operator write there.
var rbacWriter = rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"},
	Verbs: []string{"get", "create", "update", "delete"}}

// baselineAuthor is a user who may write RoleBaselines, and in ns read pods and write
// Roles and RoleBindings only.
func baselineAuthor(ns string) (string, client.Client) {
	name := unique("carol")
	editor := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique("baseline-editor")}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"rolebaselines"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}}}
	Expect(k8sClient.Create(ctx, editor)).To(Succeed())
	c, _ := userClient(name, nil, editor.Name)
	Expect(k8sClient.Create(ctx, newRole(ns, "pod-reader", readPods, rbacWriter))).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}})).To(Succeed())
	return name, c
}

var _ = Describe("RoleBaseline webhook", func() {
	It("refuses an Enforce baseline that grants what its author cannot, and accepts what they could grant", func() {
		ns := createNamespace()
		carol, c := baselineAuthor(ns)

		escalating := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods, readSecrets)
		err := c.Create(ctx, escalating)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("would make the operator do what " + carol + " cannot"))
		Expect(err.Error()).To(ContainSubstring("Role " + ns + "/reader grants get secrets in namespace " + ns))

		By("binding a role the author does not hold")
		binding := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods)
		binding.Spec.Roles = nil
		binding.Spec.Bindings = []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "admins",
			RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "cluster-admin"}, Subjects: []v1alpha1.Subject{{Kind: v1alpha1.SubjectUser, APIGroup: v1alpha1.RBACGroup, Name: carol}}}}
		err = c.Create(ctx, binding)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("binds ClusterRole cluster-admin"))

		By("a namespaceSelector needs the permissions cluster-wide")
		selected := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods)
		selected.Spec.Scope = v1alpha1.Scope{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}}
		err = c.Create(ctx, selected)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("cluster-wide"))

		By("accepting what the author holds, Audit mode, and an administrator's baseline")
		Expect(c.Create(ctx, baseline(v1alpha1.ModeEnforce, ns, "reader", readPods))).To(Succeed())
		Expect(c.Create(ctx, baseline(v1alpha1.ModeAudit, ns, "auditor", readPods, readSecrets))).To(Succeed())
		Expect(k8sClient.Create(ctx, baseline(v1alpha1.ModeEnforce, ns, "secret-reader", readPods, readSecrets))).To(Succeed())

		By("refusing a switch to Enforce the author could not create")
		audit := baseline(v1alpha1.ModeAudit, ns, "auditor2", readSecrets)
		Expect(c.Create(ctx, audit)).To(Succeed())
		// The controller's status writes change the resourceVersion: retry conflicts.
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(audit), audit); err != nil {
				return err
			}
			audit.Spec.Mode = v1alpha1.ModeEnforce
			return c.Update(ctx, audit)
		})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
	})

	It("refuses a second Enforce baseline claiming the same object, naming both", func() {
		ns := createNamespace()
		first := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods)
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		second := baseline(v1alpha1.ModeEnforce, ns, "reader", readPods)
		err := k8sClient.Create(ctx, second)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("RoleBaseline " + second.Name + " (Enforce) declares Role " + ns + "/reader, which RoleBaseline " + first.Name + " already enforces"))

		By("in Audit mode, or for another object, both may exist")
		second.Spec.Mode = v1alpha1.ModeAudit
		Expect(k8sClient.Create(ctx, second)).To(Succeed())
		Expect(k8sClient.Create(ctx, baseline(v1alpha1.ModeEnforce, ns, "writer", readPods))).To(Succeed())
	})
})
