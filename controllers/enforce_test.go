package controllers_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// enforcedTeam is inSyncTeam in Enforce mode with undeclared objects removed.
func enforcedTeam(mutate func(*v1alpha1.RoleBaseline)) (string, *v1alpha1.RoleBaseline) {
	ns := createNamespace(nil)
	Expect(k8sClient.Create(ctx, newRole(ns, "app", readPods))).To(Succeed())
	Expect(k8sClient.Create(ctx, newRoleBinding(ns, "app-devs", "app", group("devs")))).To(Succeed())
	rb := teamBaseline(ns)
	rb.Spec.Mode = v1alpha1.ModeEnforce
	rb.Spec.Unmanaged = v1alpha1.UnmanagedRemove
	if mutate != nil {
		mutate(rb)
	}
	Expect(k8sClient.Create(ctx, rb)).To(Succeed())
	return ns, eventuallyStatus(rb.Name, inSync)
}

func getRole(ns, name string) *rbacv1.Role { return fetchRole(Default, ns, name) }

func getBinding(ns, name string) *rbacv1.RoleBinding { return fetchBinding(Default, ns, name) }

// fetchRole and fetchBinding are getRole and getBinding for Eventually: an object a
// revert deletes and recreates may be briefly missing.
func fetchRole(g Gomega, ns, name string) *rbacv1.Role {
	role := &rbacv1.Role{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, role)).To(Succeed())
	return role
}

func fetchBinding(g Gomega, ns, name string) *rbacv1.RoleBinding {
	b := &rbacv1.RoleBinding{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, b)).To(Succeed())
	return b
}

func journal(rb *v1alpha1.RoleBaseline) []corev1.ConfigMap {
	var list corev1.ConfigMapList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(journalNamespace),
		client.MatchingLabels{revert.JournalLabel: string(rb.UID)})).To(Succeed())
	return list.Items
}

func enforced(st *v1alpha1.RoleBaselineStatus) bool {
	return inSync(st) && meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionEnforced)
}

var _ = Describe("Enforce mode", func() {
	It("reverts added rules in place and journals the prior rules", func() {
		ns, rb := enforcedTeam(nil)
		role := getRole(ns, "app")
		uid := role.UID
		role.Rules = append(role.Rules, readSecrets)
		Expect(k8sClient.Update(ctx, role)).To(Succeed())

		Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "app").Rules }).Should(Equal([]rbacv1.PolicyRule{readPods}))
		Expect(getRole(ns, "app").UID).To(Equal(uid), "reverted in place, not recreated")
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool { return enforced(st) && len(st.Journal) > 0 })
		Expect(got.Status.Journal[0].Action).To(Equal(v1alpha1.RevertUpdate))
		Eventually(func() map[string]int { return eventsAbout("Role", ns, "app") }).Should(HaveKey(v1alpha1.ReasonReverted))
	})

	It("restores removed subjects in place, recreates a missing role, fixes a changed roleRef and removes an unexpected binding", func() {
		ns, rb := enforcedTeam(nil)
		binding := getBinding(ns, "app-devs")
		uid := binding.UID
		binding.Subjects = nil
		Expect(k8sClient.Update(ctx, binding)).To(Succeed())
		Eventually(func(g Gomega) []rbacv1.Subject { return fetchBinding(g, ns, "app-devs").Subjects }).Should(Equal([]rbacv1.Subject{group("devs")}))
		Expect(getBinding(ns, "app-devs").UID).To(Equal(uid))

		Expect(k8sClient.Delete(ctx, getRole(ns, "app"))).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &rbacv1.Role{}) }).Should(Succeed())
		Expect(getRole(ns, "app").Rules).To(Equal([]rbacv1.PolicyRule{readPods}))
		Expect(getRole(ns, "app").Labels).To(HaveKeyWithValue(revert.ManagedByLabel, revert.ManagedByValue))

		// roleRef is immutable: a writer replaces the binding. The operator may recreate
		// the deleted one before the writer's create lands; the writer then tries again.
		Eventually(func() error {
			if err := k8sClient.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-devs"}}); client.IgnoreNotFound(err) != nil {
				return err
			}
			return k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-devs"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{group("devs")}})
		}).Should(Succeed())
		Eventually(func(g Gomega) string { return fetchBinding(g, ns, "app-devs").RoleRef.Name }).Should(Equal("app"))

		Expect(k8sClient.Create(ctx, newRoleBinding(ns, "extra", "app", group("devs")))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "extra"}, &rbacv1.RoleBinding{}))
		}).Should(BeTrue())
		eventuallyStatus(rb.Name, enforced)
	})

	It("removes the offending subject of a guardrail violation when asked to", func() {
		ns, rb := enforcedTeam(func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
			rb.Spec.Bindings = append(rb.Spec.Bindings, v1alpha1.DesiredBinding{Kind: v1alpha1.KindRoleBinding, Name: "admins",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "cluster-admin"}})
		})
		// The operator creates the declared binding (no subjects); then someone adds one.
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "admins"}, &rbacv1.RoleBinding{})
		}).Should(Succeed())
		b := getBinding(ns, "admins")
		b.Subjects = []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}}
		Expect(k8sClient.Update(ctx, b)).To(Succeed())
		Eventually(func(g Gomega) []rbacv1.Subject { return fetchBinding(g, ns, "admins").Subjects }).Should(BeEmpty())
		eventuallyStatus(rb.Name, enforced)
	})

	It("applies nothing in dry run and reports the plan", func() {
		ns, rb := enforcedTeam(func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.DryRun = true })
		role := getRole(ns, "app")
		role.Rules = append(role.Rules, readSecrets)
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionEnforced)
			return c != nil && c.Reason == v1alpha1.ReasonDryRun && c.Status == metav1.ConditionFalse && !inSync(st)
		})
		Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEnforced).Message).To(ContainSubstring("Update Role " + ns + "/app"))
		Consistently(func() int { return len(getRole(ns, "app").Rules) }, 2*time.Second).Should(Equal(2))
		Expect(journal(rb)).To(BeEmpty())
		Eventually(func() map[string]int { return eventsAbout("RoleBaseline", "", rb.Name) }).Should(HaveKey(v1alpha1.ReasonDryRun))
	})

	It("journals the exact prior state so an undo restores it byte for byte", func() {
		ns, rb := enforcedTeam(nil)
		role := getRole(ns, "app")
		tampered := []rbacv1.PolicyRule{readPods, {APIGroups: []string{"", "apps"}, Resources: []string{"secrets", "deployments/scale"},
			ResourceNames: []string{"a", "b"}, Verbs: []string{"get", "patch"}}}
		role.Rules = tampered
		role.Labels = map[string]string{"owner": "someone"}
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		Eventually(func(g Gomega) int { return len(fetchRole(g, ns, "app").Rules) }).Should(Equal(1))

		By("switching the baseline to Audit, as docs/enforce.md says, then replacing from the journal")
		cur := getBaseline(rb.Name)
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.Mode = v1alpha1.ModeAudit
		Expect(k8sClient.Patch(ctx, cur, patch)).To(Succeed())
		eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool { return true })
		entries := journal(rb)
		Expect(entries).To(HaveLen(1))
		Expect(entries[0].Annotations).To(HaveKeyWithValue(revert.AnnotationAction, "Update"))
		// Who drifted it: without the audit intake, the field manager of the tampering write.
		Expect(entries[0].Annotations).To(HaveKeyWithValue(revert.AnnotationDriftedBy, ContainSubstring("field manager ")))
		restored := &rbacv1.Role{}
		Expect(json.Unmarshal([]byte(entries[0].Data[revert.PriorKey]), restored)).To(Succeed())
		restored.ResourceVersion = getRole(ns, "app").ResourceVersion
		Expect(k8sClient.Update(ctx, restored)).To(Succeed())

		after := getRole(ns, "app")
		Expect(after.Rules).To(Equal(tampered))
		Expect(after.Labels).To(Equal(map[string]string{"owner": "someone"}))
		wantJSON, _ := json.Marshal(tampered)
		gotJSON, _ := json.Marshal(after.Rules)
		Expect(string(gotJSON)).To(Equal(string(wantJSON)))
	})

	It("reverts a person who repeats a change every time, and reports the fight with the writer", func() {
		ns, rb := enforcedTeam(nil)
		person := client.WithFieldOwner(k8sClient, "kubectl-edit")
		fights := tamperRepeatedly(person, ns, 200*time.Millisecond, 4*time.Second)
		Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "app").Rules }).Should(Equal([]rbacv1.PolicyRule{readPods}))
		Expect(fights).To(BeNumerically(">=", 10))
		Eventually(func() int { return len(journal(rb)) }).Should(Equal(fights), "every repeated change is reverted and journaled once")
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionEnforced)
			return c != nil && c.Reason == v1alpha1.ReasonRevertLoopDetected
		})
		msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEnforced).Message
		Expect(msg).To(ContainSubstring(ns + "/app"))
		Expect(msg).To(ContainSubstring("field manager kubectl-edit (Person)"))
		Expect(msg).To(ContainSubstring("reverted every time"))
		Eventually(func() map[string]int { return eventsAbout("RoleBaseline", "", rb.Name) }).Should(HaveKey(v1alpha1.ReasonRevertLoopDetected))
	})

	It("bounds the reverts of a writer that repeats a change faster than a few times a second", func() {
		ns, rb := enforcedTeam(nil)
		fights := tamperRepeatedly(k8sClient, ns, 20*time.Millisecond, 3*time.Second)
		Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "app").Rules }).Should(Equal([]rbacv1.PolicyRule{readPods}))
		reverts := len(journal(rb))
		Expect(reverts).To(BeNumerically("<=", revert.ObjectRevertBurst+revert.ObjectRevertsPerSecond*4), "%d changes", fights)
		Expect(reverts).To(BeNumerically(">=", revert.ObjectRevertsPerSecond*2), "an unknown writer is never given up on")
	})

	It("backs off from another controller, keeps its drift reported and names it", func() {
		ns, rb := enforcedTeam(nil)
		controller := client.WithFieldOwner(k8sClient, "argocd-controller")
		stop := make(chan struct{})
		done := make(chan int)
		go func() { done <- tamperUntil(controller, ns, 20*time.Millisecond, stop) }()
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionEnforced)
			return c != nil && c.Reason == v1alpha1.ReasonRevertLoopDetected && !inSync(st)
		})
		msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEnforced).Message
		Expect(msg).To(ContainSubstring("field manager argocd-controller (Controller)"))
		Expect(msg).To(ContainSubstring("back off"))
		time.Sleep(3 * time.Second) // the controller keeps going; the operator backs off
		close(stop)
		fights := <-done
		Expect(len(journal(rb))).To(BeNumerically("<=", revert.LoopThreshold+1), "reverts while fighting for %d attempts", fights)
		Expect(getBaseline(rb.Name).Status.Counts.Drifts).To(BeNumerically(">", 0), "the drift stays reported")
		Eventually(func() map[string]int { return eventsAbout("Role", ns, "app") }).Should(HaveKey(v1alpha1.ReasonRevertLoopDetected))
	})

	It("keeps journalLimit entries, the newest, when the baseline omits spec.enforcement", func() {
		const namespaces, rounds = 20, 10
		var nss []string
		for range namespaces {
			ns := createNamespace(nil)
			Expect(k8sClient.Create(ctx, newRole(ns, "app", readPods))).To(Succeed())
			Expect(k8sClient.Create(ctx, newRoleBinding(ns, "app-devs", "app", group("devs")))).To(Succeed())
			nss = append(nss, ns)
		}
		rb := teamBaseline(nss[0])
		rb.Spec.Scope.Namespaces = nss
		rb.Spec.Mode = v1alpha1.ModeEnforce
		Expect(k8sClient.Create(ctx, rb)).To(Succeed())
		rb = eventuallyStatus(rb.Name, enforced)
		Expect(rb.Spec.Enforcement.JournalLimit).To(BeEquivalentTo(v1alpha1.DefaultJournalLimit), "defaulted by the API server")
		Expect(rb.Spec.Enforcement.Violations).To(Equal(v1alpha1.ViolationReport))

		for range rounds {
			for _, ns := range nss {
				role := getRole(ns, "app")
				role.Rules = append(role.Rules, readSecrets)
				Expect(k8sClient.Update(ctx, role)).To(Succeed())
			}
			for _, ns := range nss {
				Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "app").Rules }).Should(HaveLen(1))
			}
		}
		Expect(getBaseline(rb.Name).Status.Journal).NotTo(BeEmpty())
		Eventually(func() int { return len(journal(rb)) }, 30*time.Second).Should(Equal(v1alpha1.DefaultJournalLimit))
		kept := map[string]bool{}
		for _, cm := range journal(rb) {
			kept[cm.Name] = true
		}
		// Ten changes of each Role within seconds are a fight: Enforced stays False for a minute.
		final := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool { return inSync(st) && len(st.Journal) == 20 })
		for _, rec := range final.Status.Journal {
			Expect(kept).To(HaveKey(rec.Entry), "the newest entries are never pruned")
		}
	})

	It("leaves an object another controller owns alone", func() {
		ns, rb := enforcedTeam(nil)
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "owner"}}
		Expect(k8sClient.Create(ctx, owner)).To(Succeed())
		role := getRole(ns, "app")
		role.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: owner.UID,
			Controller: ptrTo(true)}}
		role.Rules = append(role.Rules, readSecrets)
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		got := eventuallyStatus(rb.Name, func(st *v1alpha1.RoleBaselineStatus) bool {
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionEnforced)
			return c != nil && c.Reason == v1alpha1.ReasonRevertSkipped
		})
		Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEnforced).Message).To(ContainSubstring("owned by ConfigMap owner"))
		Consistently(func() int { return len(getRole(ns, "app").Rules) }, 2*time.Second).Should(Equal(2))
	})

	It("works with exactly the permissions in config/rbac", func() {
		By("running the manager as a user bound only to the generated roles")
		user, err := testEnv.AddUser(envtest.User{Name: "rbac-guardrails-operator"}, nil)
		Expect(err).NotTo(HaveOccurred())
		bindGeneratedRoles("rbac-guardrails-operator")
		stopManager()
		// Stop the user's manager before the suite's comes back: two would both act.
		DeferCleanup(func() { stopManager(); stopManager = startManager(cfg) })
		stopManager = startManager(user.Config())

		ns, rb := enforcedTeam(nil)
		role := getRole(ns, "app")
		role.Rules = append(role.Rules, rule("", "secrets", "get")) // a permission the operator does not hold
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		Eventually(func(g Gomega) []rbacv1.PolicyRule { return fetchRole(g, ns, "app").Rules }).Should(Equal([]rbacv1.PolicyRule{readPods}))
		Expect(k8sClient.Delete(ctx, getBinding(ns, "app-devs"))).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-devs"}, &rbacv1.RoleBinding{})
		}).Should(Succeed())
		eventuallyStatus(rb.Name, enforced)
		Expect(journal(rb)).To(HaveLen(2))
	})
})

// bindGeneratedRoles creates config/rbac/role.yaml's ClusterRole and Role (its
// namespace set to the journal namespace) and binds both to user.
func bindGeneratedRoles(user string) {
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	dec := utilyaml.NewYAMLOrJSONDecoder(bytesReader(data), 4096)
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	for {
		var u map[string]any
		if err := dec.Decode(&u); err != nil {
			break
		}
		raw, _ := json.Marshal(u)
		switch u["kind"] {
		case "ClusterRole":
			cr := &rbacv1.ClusterRole{}
			Expect(json.Unmarshal(raw, cr)).To(Succeed())
			cr.Name = "test-" + user
			Expect(k8sClient.Create(ctx, cr)).To(Succeed())
			Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: cr.Name},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}, Subjects: subject})).To(Succeed())
		case "Role":
			r := &rbacv1.Role{}
			Expect(json.Unmarshal(raw, r)).To(Succeed())
			r.Name, r.Namespace = "test-"+user, journalNamespace
			Expect(k8sClient.Create(ctx, r)).To(Succeed())
			Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: journalNamespace},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name}, Subjects: subject})).To(Succeed())
		}
	}
}

// tamperRepeatedly makes the same drift as often as every, through c, for d: whenever the
// Role ns/app is back on the baseline it adds a rule again. It returns how many
// drifts it made.
func tamperRepeatedly(c client.Client, ns string, every, d time.Duration) int {
	stop := make(chan struct{})
	time.AfterFunc(d, func() { close(stop) })
	return tamperUntil(c, ns, every, stop)
}

func tamperUntil(c client.Client, ns string, every time.Duration, stop <-chan struct{}) int {
	defer GinkgoRecover()
	n := 0
	for {
		select {
		case <-stop:
			return n
		case <-time.After(every):
		}
		role := &rbacv1.Role{}
		if c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, role) != nil || len(role.Rules) != 1 {
			continue
		}
		role.Rules = append(role.Rules, readSecrets)
		if c.Update(ctx, role) == nil {
			n++
		}
	}
}
