package audit

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var seq atomic.Int64

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}

func createNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unique("ns")}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// grant binds a new Role with rules in ns to a user.
func grant(ns, name, user string, rules ...rbacv1.PolicyRule) {
	Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules})).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}})).To(Succeed())
}

// userClient is a client authenticated as a user whose rights RBAC governs.
func userClient(name string) client.Client {
	u, err := testEnv.AddUser(envtest.User{Name: name, Groups: []string{"team"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func baseline(ns string, roles ...v1alpha1.DesiredRole) *v1alpha1.RoleBaseline {
	rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: unique("audit")}, Spec: v1alpha1.RoleBaselineSpec{
		Scope: v1alpha1.Scope{Namespaces: []string{ns}}, Roles: roles, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone}}}
	Expect(k8sClient.Create(ctx, rb)).To(Succeed())
	return rb
}

func status(name string) *v1alpha1.RoleBaselineStatus {
	rb := &v1alpha1.RoleBaseline{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, rb)).To(Succeed())
	return &rb.Status
}

func finding(st *v1alpha1.RoleBaselineStatus, t v1alpha1.FindingType, kind, ns, name string) *v1alpha1.Finding {
	for i := range st.Findings {
		if f := &st.Findings[i]; f.Type == t && f.Object.Kind == kind && f.Object.Namespace == ns && f.Object.Name == name {
			return f
		}
	}
	return nil
}

// expectChangedBy waits until baseline's RulesAdded finding on Role ns/name names user.
func expectChangedBy(baseline, ns, name, user string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		f := finding(status(baseline), v1alpha1.FindingRulesAdded, "Role", ns, name)
		g.Expect(f).NotTo(BeNil())
		g.Expect(f.ChangedBy).To(Equal(user))
		g.Expect(f.ChangedAt).NotTo(BeNil())
	}).Should(Succeed())
}

// roleEventNotes lists "reason: note" of the events about Role ns/name.
func roleEventNotes(g Gomega, ns, name string) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns), client.MatchingFieldsSelector{Selector: fields.AndSelectors(
		fields.OneTermEqualSelector("regarding.kind", "Role"), fields.OneTermEqualSelector("regarding.name", name))})).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		notes = append(notes, e.Reason+": "+e.Note)
	}
	return notes
}

// unusedRules describes the rules of the UnusedPermission finding of a binding, "" when none.
func unusedRules(st *v1alpha1.RoleBaselineStatus, ns, binding string) string {
	f := finding(st, v1alpha1.FindingUnusedPermission, "RoleBinding", ns, binding)
	if f == nil {
		return ""
	}
	var parts []string
	for _, r := range f.Rules {
		parts = append(parts, strings.Join(r.Verbs, ",")+" "+strings.Join(r.Resources, ","))
	}
	return strings.Join(parts, "; ")
}

func counter(name, label, value string) float64 {
	mfs, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

var _ = Describe("Audit intake", Ordered, func() {
	var (
		usageNS, usageBaseline string
		bob                    client.Client
	)

	It("names the user who modified a role in scope in the finding and the event, also when the audit event comes last", func() {
		ns := createNamespace()
		readPods := rule("", "pods", "get", "list")
		Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			Rules: []rbacv1.PolicyRule{readPods}})).To(Succeed())
		rb := baseline(ns, v1alpha1.DesiredRole{Kind: v1alpha1.KindRole, Name: "app", Rules: drift.ToAPIRules(readPods)})
		Eventually(func() bool { return meta.IsStatusConditionTrue(status(rb.Name).Conditions, v1alpha1.ConditionInSync) }).Should(BeTrue())

		// Out of the baseline's scope (cluster-scoped), so alice's own requests change
		// no usage finding there: only the attribution path can re-evaluate it.
		editor := unique("role-editor")
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: editor},
			Rules: []rbacv1.PolicyRule{rule(rbacv1.GroupName, "roles", "get", "update", "escalate")}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editor},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: editor},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}})).To(Succeed())
		alice := userClient("alice")
		role := &rbacv1.Role{}
		Expect(alice.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, role)).To(Succeed())
		role.Rules = append(role.Rules, rule("", "secrets", "get"))
		Expect(alice.Update(ctx, role)).To(Succeed())

		expectChangedBy(rb.Name, ns, "app", "alice")
		Eventually(func(g Gomega) {
			notes := roleEventNotes(g, ns, "app")
			g.Expect(notes).To(ContainElement(ContainSubstring("changed by alice")))
			// The audit batch waits up to 1s, the watch event does not: the finding was
			// reported first and attributed when the audit event came.
			g.Expect(notes).To(ContainElement(HavePrefix(v1alpha1.ReasonChangeAttributed + ": RoleBaseline " + rb.Name + ": RulesAdded on Role " + ns + "/app: changed by alice at ")))
		}).Should(Succeed())
	})

	It("reports permissions never used as advisory, and stops once they are used", func() {
		usageNS = createNamespace()
		grant(usageNS, "reader", "bob", rule("", "pods", "get", "list"), rule("", "configmaps", "list"))
		rb := baseline(usageNS)
		usageBaseline = rb.Name
		bob = userClient("bob")
		// A first use gives the window usage data; the rest of the grant is unused.
		Expect(bob.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(usageNS))).To(Succeed())
		Eventually(func() string { return unusedRules(status(rb.Name), usageNS, "reader") }).Should(Equal("get,list pods"))
		st := status(rb.Name)
		Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionInSync)).To(BeTrue(), "unused permissions are advisory")
		Expect(st.Counts.Unused).To(BeEquivalentTo(1))
		Expect(st.Counts.Drifts + st.Counts.Violations).To(BeZero())

		Expect(bob.List(ctx, &corev1.PodList{}, client.InNamespace(usageNS))).To(Succeed())
		Eventually(func() string { return unusedRules(status(rb.Name), usageNS, "reader") }).Should(Equal("get pods"))
		Expect(finding(status(rb.Name), v1alpha1.FindingUnusedPermission, "RoleBinding", usageNS, "reader").Subject.Name).To(Equal("bob"))
	})

	It("keeps usage across a manager restart", func() {
		Eventually(func(g Gomega) {
			var cms corev1.ConfigMapList
			g.Expect(k8sClient.List(ctx, &cms, client.InNamespace(usageNamespace), client.HasLabels{"guardrails.rbac-guardrails.io/usage-day"})).To(Succeed())
			g.Expect(cms.Items).NotTo(BeEmpty())
		}).Should(Succeed())
		stopManager()
		stopManager = startManager(cfg)
		// Only persisted usage can say that list pods and list configmaps were used:
		// nobody acts as bob after the restart. The new manager waits for it, so the
		// finding never leaves the status in between.
		Consistently(func() string { return unusedRules(status(usageBaseline), usageNS, "reader") }, "3s").
			Should(Equal("get pods"))
		Expect(bob.Get(ctx, client.ObjectKey{Namespace: usageNS, Name: "p"}, &corev1.Pod{})).NotTo(Succeed()) // not found, but allowed
		Eventually(func() string { return unusedRules(status(usageBaseline), usageNS, "reader") }).Should(BeEmpty())
	})

	It("refuses bad payloads with a clear status and counts them", func() {
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(caPEM)).To(BeTrue())
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		post := func(body []byte, ctype, auth string) (int, string) {
			req, err := http.NewRequest(http.MethodPost, intakeURL, bytes.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Content-Type", ctype)
			if auth != "" {
				req.Header.Set("Authorization", "Bearer "+auth)
			}
			resp, err := hc.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String()
		}
		valid := []byte(`{"apiVersion":"audit.k8s.io/v1","kind":"EventList","items":[]}`)
		for _, tc := range []struct {
			name, ctype, auth, reason string
			body                      []byte
			code                      int
		}{
			{"unauthenticated", "application/json", "", "unauthenticated", valid, 401},
			{"wrong token", "application/json", "guess", "unauthenticated", valid, 401},
			{"wrong content type", "text/plain", token, "unsupported_media_type", valid, 415},
			{"malformed JSON", "application/json", token, "malformed", []byte(`{"items":[{`), 400},
			{"oversized", "application/json", token, "too_large", bytes.Repeat([]byte(" "), 5<<20), 413},
		} {
			before := counter("rbac_guardrails_audit_events_refused_total", "reason", tc.reason)
			code, body := post(tc.body, tc.ctype, tc.auth)
			Expect(code).To(Equal(tc.code), tc.name+": "+body)
			Expect(body).To(HavePrefix("audit webhook: "), tc.name)
			Expect(counter("rbac_guardrails_audit_events_refused_total", "reason", tc.reason)-before).To(BeEquivalentTo(1), tc.name)
		}
		code, _ := post(valid, "application/json", token)
		Expect(code).To(Equal(http.StatusOK))
		Expect(counter("rbac_guardrails_audit_events_received_total", "source", "webhook")).To(BeNumerically(">", 0),
			"the API server's own audit stream was received")
	})
})
