package guardrails

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Target says what a catalog rule inspects.
type Target int

const (
	// TargetRole rules inspect the rules of a Role or ClusterRole.
	TargetRole Target = iota
	// TargetBinding rules inspect the roleRef and subjects of a RoleBinding or ClusterRoleBinding.
	TargetBinding
	// TargetAggregation rules inspect a ClusterRole's aggregation labels (MatchAggregation).
	TargetAggregation
	// TargetPath rules inspect what a subject reaches through other identities (Steps).
	TargetPath
)

// Rule is one entry of the catalog.
type Rule struct {
	// ID is the stable identifier used in RoleBaseline specs and findings.
	ID v1alpha1.GuardrailID
	// Title is a one-line description for people.
	Title string
	// Severity is the default severity of a violation.
	Severity v1alpha1.Severity
	// Reference points at the control the rule implements, such as "CIS 5.1.1".
	Reference string
	// Target says whether the rule inspects roles or bindings.
	Target Target

	// anyOf: the rule matches when the role covers at least one of these requests.
	anyOf []rbacv1.PolicyRule
	// allOf: the rule matches when the role covers every one of these requests.
	allOf []rbacv1.PolicyRule
	// fullNames, per resource of allOf, are resourceNames as dangerous as the whole
	// resource; fullNote says why, after the names.
	fullNames map[string][]string
	fullNote  string
	// grade, when set, adjusts a match's Lower and Note for the API server judged.
	grade func(m *Match, srv Server)
	// syntactic, when set, replaces coverage: it reports the offending rules itself.
	syntactic func(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule
	// binding reports the offending subjects of a binding and grades the match.
	binding func(b *Binding) (Match, bool)
}

// Requests returns the dangerous requests of a role rule, one verb/resource per
// entry, as PolicyRules. It is empty for binding rules and for wildcard-access.
func (r *Rule) Requests() []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 0, len(r.anyOf)+len(r.allOf))
	for _, q := range r.anyOf {
		out = append(out, *q.DeepCopy())
	}
	for _, q := range r.allOf {
		out = append(out, *q.DeepCopy())
	}
	return out
}

func req(group, resource string, verbs ...string) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 0, len(verbs))
	for _, v := range verbs {
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{v}})
	}
	return out
}

func reqs(parts ...[]rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// catalog is built once and never modified; Catalog hands out copies of its entries.
var catalog = []Rule{
	{
		ID: v1alpha1.GuardrailClusterAdminBinding, Title: "cluster-admin bound to a subject",
		Severity: v1alpha1.SeverityCritical, Reference: "CIS 5.1.1", Target: TargetBinding,
		binding: matchClusterAdminBinding,
	},
	{
		ID: v1alpha1.GuardrailSecretsRead, Title: "read access to secrets",
		Severity: v1alpha1.SeverityHigh, Reference: "CIS 5.1.2", Target: TargetRole,
		anyOf: req("", "secrets", "get", "list", "watch"),
	},
	{
		ID: v1alpha1.GuardrailWildcardAccess, Title: "wildcard in verbs or resources",
		Severity: v1alpha1.SeverityHigh, Reference: "CIS 5.1.3", Target: TargetRole,
		syntactic: matchWildcard,
	},
	{
		ID: v1alpha1.GuardrailWorkloadCreate, Title: "create pods or workload controllers",
		Severity: v1alpha1.SeverityMedium, Reference: "CIS 5.1.4", Target: TargetRole,
		anyOf: reqs(
			req("", "pods", "create"),
			req("", "replicationcontrollers", "create"),
			req("apps", "deployments", "create"),
			req("apps", "replicasets", "create"),
			req("apps", "statefulsets", "create"),
			req("apps", "daemonsets", "create"),
			req("batch", "jobs", "create"),
			req("batch", "cronjobs", "create"),
		),
	},
	{
		ID: v1alpha1.GuardrailAnonymousBinding, Title: "binding to anonymous, all authenticated, all ServiceAccounts or system:masters",
		Severity: v1alpha1.SeverityCritical, Reference: "CIS 5.1.7", Target: TargetBinding,
		binding: matchAnonymousBinding,
	},
	{
		ID: v1alpha1.GuardrailEscalationVerbs, Title: "escalate, bind or impersonate",
		Severity: v1alpha1.SeverityCritical, Reference: "CIS 5.1.8", Target: TargetRole,
		anyOf: reqs(
			req(rbacv1.GroupName, "roles", "escalate", "bind"),
			req(rbacv1.GroupName, "clusterroles", "escalate", "bind"),
			req("", "users", "impersonate"),
			req("", "groups", "impersonate"),
			req("", "serviceaccounts", "impersonate"),
			req("authentication.k8s.io", "uids", "impersonate"),
			req("authentication.k8s.io", "userextras", "impersonate"),
		),
	},
	{
		ID: v1alpha1.GuardrailPersistentVolumeCreate, Title: "create persistent volumes",
		Severity: v1alpha1.SeverityMedium, Reference: "CIS 5.1.9", Target: TargetRole,
		anyOf: req("", "persistentvolumes", "create"),
	},
	{
		ID: v1alpha1.GuardrailNodesProxy, Title: "access to the nodes/proxy subresource",
		Severity: v1alpha1.SeverityHigh, Reference: "CIS 5.1.10", Target: TargetRole,
		anyOf: req("", "nodes/proxy", "get", "create", "update", "patch", "delete"),
	},
	{
		ID: v1alpha1.GuardrailCSRApproval, Title: "approve certificate signing requests",
		Severity: v1alpha1.SeverityHigh, Reference: "CIS 5.1.11", Target: TargetRole,
		// Approving takes both: writing the approval subresource and approve on a signer.
		allOf: reqs(
			req("certificates.k8s.io", "certificatesigningrequests/approval", "update"),
			req("certificates.k8s.io", "signers", "approve"),
		),
		// The CSR approver authorizes approve on the signer's name and on its
		// "domain/*" (plugin/pkg/admission/certificates: IsAuthorizedForSignerName);
		// kube-apiserver-client signs client certificates for any user and group.
		fullNames: map[string][]string{"signers": {"kubernetes.io/kube-apiserver-client", "kubernetes.io/*"}},
		fullNote:  "include the kube-apiserver-client signer, which issues client certificates for any user or group (system:masters too)",
	},
	{
		ID: v1alpha1.GuardrailAdmissionWebhookWrite, Title: "write admission webhook configurations",
		Severity: v1alpha1.SeverityHigh, Reference: "CIS 5.1.12", Target: TargetRole,
		anyOf: reqs(
			req("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "create", "update", "patch", "delete"),
			req("admissionregistration.k8s.io", "validatingwebhookconfigurations", "create", "update", "patch", "delete"),
		),
	},
	{
		ID: v1alpha1.GuardrailServiceAccountTokenCreate, Title: "create service account tokens",
		Severity: v1alpha1.SeverityHigh, Reference: "CIS 5.1.13", Target: TargetRole,
		anyOf: req("", "serviceaccounts/token", "create"),
	},
	{
		ID: v1alpha1.GuardrailPodExecAttach, Title: "exec, attach, port-forward or ephemeral containers in pods",
		Severity: v1alpha1.SeverityHigh, Reference: "NSA/CISA Kubernetes Hardening: pod access", Target: TargetRole,
		anyOf: reqs(
			req("", "pods/exec", "create", "get"),
			req("", "pods/attach", "create", "get"),
			req("", "pods/portforward", "create", "get"),
			req("", "pods/ephemeralcontainers", "update", "patch"),
		),
		grade: gradeExecGet,
	},
	{
		ID: v1alpha1.GuardrailNamespaceWrite, Title: "patch or update namespaces (can lift Pod Security labels)",
		Severity: v1alpha1.SeverityMedium, Reference: "Pod Security Admission: namespace labels", Target: TargetRole,
		anyOf: req("", "namespaces", "patch", "update"),
	},
	{
		ID: v1alpha1.GuardrailDefaultRoleAggregation, Title: "ClusterRole aggregated into admin, edit or view",
		Severity: v1alpha1.SeverityHigh, Reference: "Kubernetes RBAC: default roles and aggregation", Target: TargetAggregation,
	},
	{
		ID: v1alpha1.GuardrailEscalationPath, Title: "escalation path to a guardrail the direct grants do not reach",
		Severity: v1alpha1.SeverityHigh, Reference: "Kubernetes RBAC good practices: privilege escalation risks", Target: TargetPath,
	},
}

// index maps an ID to its position in catalog; built once at init, read-only after.
var index = func() map[v1alpha1.GuardrailID]int {
	m := make(map[v1alpha1.GuardrailID]int, len(catalog))
	for i := range catalog {
		m[catalog[i].ID] = i
	}
	return m
}()

// Catalog returns every rule of the catalog in a fixed order. The slice is a copy.
func Catalog() []Rule {
	out := make([]Rule, len(catalog))
	copy(out, catalog)
	return out
}

// Lookup returns the catalog rule with the given ID.
func Lookup(id v1alpha1.GuardrailID) (Rule, bool) {
	i, ok := index[id]
	if !ok {
		return Rule{}, false
	}
	return catalog[i], true
}

// IDs lists every catalog ID in catalog order.
func IDs() []v1alpha1.GuardrailID {
	out := make([]v1alpha1.GuardrailID, len(catalog))
	for i := range catalog {
		out[i] = catalog[i].ID
	}
	return out
}

// execGetUntil is the release from which get alone no longer opens exec, attach or
// port-forward: a websocket upgrade is a GET, and since Kubernetes 1.35 the
// AuthorizePodWebsocketUpgradeCreatePermission feature (on by default) also asks for
// create, as a SPDY POST always did (KEP-4006).
var execGetUntil = [2]int{1, 35}

// gradeExecGet grades pod-exec-attach when its only grants are get on pods/exec,
// attach or portforward: harmless for exec on the releases that need create.
func gradeExecGet(m *Match, srv Server) {
	for _, q := range m.Requests {
		if q.Verbs[0] != "get" {
			return // create, or ephemeral containers: dangerous on every release
		}
	}
	switch {
	case srv.AtLeast(execGetUntil[0], execGetUntil[1]):
		m.Lower += 2
		m.Note = join(m.Note, fmt.Sprintf("judged for %s: get alone no longer opens exec, attach or port-forward (since 1.35 the websocket upgrade needs create)", srv))
	case srv.Known():
		m.Note = join(m.Note, fmt.Sprintf("judged for %s: get alone opens exec, attach and port-forward through a websocket upgrade (until 1.35)", srv))
	default:
		m.Note = join(m.Note, "judged for an API server of unknown version: before Kubernetes 1.35 get alone opens exec, attach and port-forward through a websocket upgrade")
	}
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}
