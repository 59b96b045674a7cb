package audit

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/report"
)

var _ = Describe("Audit log file", func() {
	It("resumes the API server's audit log where the last run stopped, from the checkpoint in a ConfigMap", func() {
		// Its own namespace for usage and the checkpoint: the suite's manager writes
		// the usage of the same days in usageNamespace.
		ns := createNamespace()
		opts := audit.Options{LogPath: auditLogPath, UsageWindow: 720 * time.Hour, Namespace: ns, FlushInterval: 200 * time.Millisecond}
		start := func() (*report.AuditSources, func()) {
			mgr := newManager(cfg)
			src := newSources()
			addIntake(mgr, src, opts)
			return src, run(mgr)
		}
		writers := func(src *report.AuditSources, name string) []string {
			var verbs []string
			for _, w := range src.Index.History(drift.ObjectRef{Kind: drift.KindRole, Namespace: ns, Name: name}) {
				verbs = append(verbs, w.Verb+" by "+w.User)
			}
			return verbs
		}
		createRole := func(name string) {
			Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Rules: []rbacv1.PolicyRule{rule("", "pods", "get")}})).To(Succeed())
		}
		checkpoint := func(g Gomega) *audit.Checkpoint {
			cm := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: audit.CheckpointConfigMap}, cm)).To(Succeed())
			cp := &audit.Checkpoint{}
			g.Expect(json.Unmarshal([]byte(cm.Data["checkpoint.json"]), cp)).To(Succeed())
			return cp
		}

		first, stop := start()
		// The first run starts at the end of the log, and saves that position.
		Eventually(func(g Gomega) {
			g.Expect(checkpoint(g).Path).To(Equal(auditLogPath))
		}).Should(Succeed())
		createRole("before")
		Eventually(func() []string { return writers(first, "before") }).Should(ContainElement(HavePrefix("create by ")))
		stop()
		saved := checkpoint(Default)
		Expect(saved.Offset).To(BeNumerically(">", 0))

		createRole("while-stopped")
		second, stop := start()
		DeferCleanup(stop)
		Eventually(func() []string { return writers(second, "while-stopped") }).Should(ContainElement(HavePrefix("create by ")),
			"the write made while stopped is read from the log")
		Expect(writers(second, "before")).To(BeEmpty(), "lines read before the stop are not read again")
		Eventually(func(g Gomega) {
			g.Expect(checkpoint(g).Offset).To(BeNumerically(">", saved.Offset))
		}).Should(Succeed())
	})
})
