package audit

import (
	"net"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var _ = Describe("Audit event before the watch event", func() {
	It("names the user in the finding and the event when the intake heard of the change before the controller saw the object", func() {
		// The intake alone, as in a manager whose controllers have not started or
		// synced yet: the audit event is all there is of the change.
		stopManager()
		src := newSources()
		intake := newManager(cfg)
		addIntake(intake, src, auditOpts)
		stopIntake := run(intake)
		var stopControllers func()
		stopManager = func() {
			if stopControllers != nil {
				stopControllers()
			}
			stopIntake()
		}
		DeferCleanup(func() {
			stopManager()
			stopManager = startManager(cfg)
		})
		Eventually(func() error {
			c, err := net.Dial("tcp", auditOpts.WebhookAddr)
			if err == nil {
				_ = c.Close()
			}
			return err
		}).Should(Succeed())

		ns := createNamespace()
		readPods := rule("", "pods", "get", "list")
		rb := baseline(ns, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: "app", Rules: drift.ToAPIRules(readPods)})
		creator := unique("role-creator")
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: creator},
			Rules: []rbacv1.PolicyRule{rule(rbacv1.GroupName, "roles", "create", "escalate")}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: creator},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: creator},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "carol"}}})).To(Succeed())
		Expect(userClient("carol").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			Rules: []rbacv1.PolicyRule{readPods, rule("", "secrets", "get")}})).To(Succeed())
		ref := drift.ObjectRef{Kind: drift.KindRole, Namespace: ns, Name: "app"}
		Eventually(func() []string {
			var users []string
			for _, w := range src.Index.History(ref) {
				users = append(users, w.User)
			}
			return users
		}).Should(ContainElement("carol"))

		// Only now does a controller see the role, in its first list.
		ctrls := newManager(cfg)
		setup(ctrls, src)
		stopControllers = run(ctrls)

		expectChangedBy(rb.Name, ns, "app", "carol")
		Eventually(func(g Gomega) {
			notes := roleEventNotes(g, ns, "app")
			// Named in the first report, not in a later ChangeAttributed event.
			g.Expect(notes).To(ContainElement(And(HavePrefix(v1alpha1.ReasonDriftDetected+": RoleBaseline "+rb.Name+": "),
				ContainSubstring(" (changed by carol at "))))
			g.Expect(notes).NotTo(ContainElement(HavePrefix(v1alpha1.ReasonChangeAttributed)))
		}).Should(Succeed())
	})
})
