package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
)

// The engine grades get on pods/exec by the server version and keeps Roles from
// granting cluster-scoped resources, custom ones included, by what discovery says.
var _ = Describe("Discovering the API server", func() {
	It("reads the version and the cluster-scoped resources, custom resources included", func() {
		srv, err := operator.DiscoverServer(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Known()).To(BeTrue())
		Expect(srv.AtLeast(1, 35)).To(BeTrue(), "envtest serves Kubernetes 1.37, got %s", srv)
		Expect(srv.String()).To(MatchRegexp(`^Kubernetes 1\.\d+$`))

		DeferCleanup(guardrails.SetServer, guardrails.CurrentServer())
		guardrails.SetServer(srv)
		Expect(guardrails.ClusterScoped("guardrails.rbac-guardrails.io", "rolebaselines")).To(BeTrue(),
			"RoleBaseline is a cluster-scoped custom resource, which only discovery knows")
		Expect(guardrails.ClusterScoped("", "nodes")).To(BeTrue())
		Expect(guardrails.ClusterScoped("", "pods")).To(BeFalse())
	})
})
