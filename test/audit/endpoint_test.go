package audit

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
)

const auditService = "rbac-guardrails-audit"

var _ = Describe("Leader endpoint", func() {
	It("points the audit Service at the leader, and at the next leader after a failover", func() {
		ns := createNamespace()
		c := namespacedRoleClient(ns)

		stopA := startLeader(ns, c, "10.0.0.1", "manager-a")
		DeferCleanup(stopA)
		Eventually(sliceAddresses).WithArguments(ns).Should(Equal([]string{"10.0.0.1"}))
		slice := &discoveryv1.EndpointSlice{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: auditService}, slice)).To(Succeed())
		Expect(slice.Labels).To(HaveKeyWithValue(discoveryv1.LabelServiceName, auditService))
		Expect(slice.Labels).To(HaveKeyWithValue(discoveryv1.LabelManagedBy, "leader.rbac-guardrails.io"))
		Expect(slice.AddressType).To(Equal(discoveryv1.AddressTypeIPv4))
		Expect(slice.Ports).To(HaveExactElements(discoveryv1.EndpointPort{
			Name: ptr.To("audit"), Port: ptr.To[int32](9444), Protocol: ptr.To(corev1.ProtocolTCP)}))
		Expect(slice.Endpoints[0].Conditions.Ready).To(HaveValue(BeTrue()))
		Expect(slice.Endpoints[0].TargetRef).To(HaveValue(And(
			HaveField("Kind", "Pod"), HaveField("Namespace", ns), HaveField("Name", "manager-a"))))

		By("a second replica, not leading, leaves the slice alone")
		stopB := startLeader(ns, c, "10.0.0.2", "manager-b")
		DeferCleanup(stopB)
		Consistently(sliceAddresses).WithArguments(ns).WithTimeout(time.Second).Should(Equal([]string{"10.0.0.1"}))

		By("the new leader replaces the old address")
		stopA()
		Eventually(sliceAddresses).WithArguments(ns).Should(Equal([]string{"10.0.0.2"}))

		By("a deleted slice comes back while the leader leads")
		Expect(k8sClient.Delete(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: auditService}})).To(Succeed())
		Eventually(sliceAddresses).WithArguments(ns).Should(Equal([]string{"10.0.0.2"}))
	})
})

// sliceAddresses lists the addresses of the audit Service's slice, one per endpoint.
func sliceAddresses(ns string) ([]string, error) {
	slice := &discoveryv1.EndpointSlice{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: auditService}, slice); err != nil {
		return nil, err
	}
	var out []string
	for _, ep := range slice.Endpoints {
		out = append(out, ep.Addresses...)
	}
	return out, nil
}

// startLeader runs a manager that elects a leader in ns and publishes the audit
// endpoint for podIP through c; it returns a function that stops it, releasing the
// lease, and waits. Calling it again does nothing.
func startLeader(ns string, c client.Client, podIP, podName string) func() {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		LeaderElection:                true,
		LeaderElectionID:              "audit-endpoint",
		LeaderElectionNamespace:       ns,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(4 * time.Second),
		RenewDeadline:                 ptr.To(3 * time.Second),
		RetryPeriod:                   ptr.To(200 * time.Millisecond),
	})
	Expect(err).NotTo(HaveOccurred())
	ep, err := audit.NewEndpoint(c, audit.Options{WebhookAddr: ":9444", ServiceName: auditService, ServiceNamespace: ns,
		PodName: podName, PodIP: podIP})
	Expect(err).NotTo(HaveOccurred())
	ep.Resync = 200 * time.Millisecond
	Expect(mgr.Add(ep)).To(Succeed())
	return run(mgr)
}

// namespacedRoleClient is a client for a user holding, in ns, exactly the rules of the
// operator's namespaced Role in config/rbac/role.yaml.
func namespacedRoleClient(ns string) client.Client {
	f, err := os.Open(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	var role *rbacv1.Role
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var r rbacv1.Role
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		if r.Kind == "Role" {
			role = &r
		}
	}
	Expect(role).NotTo(BeNil(), "config/rbac/role.yaml holds no namespaced Role")
	user := unique("operator")
	grant(ns, unique("operator"), user, role.Rules...)
	return userClient(user)
}
