package v1alpha1

// GuardrailID names a rule of the dangerous-permission catalog. The catalog in
// internal/guardrails holds one rule for each constant below.
// +kubebuilder:validation:Enum=cluster-admin-binding;secrets-read;wildcard-access;workload-create;anonymous-binding;escalation-verbs;persistentvolume-create;nodes-proxy;csr-approval;admission-webhook-write;serviceaccount-token-create;pod-exec-attach;namespace-write;default-role-aggregation;escalation-path
type GuardrailID string

// The guardrail catalog. Each ID maps to a CIS Kubernetes Benchmark control where one exists.
const (
	// GuardrailClusterAdminBinding: cluster-admin bound to a subject that is not exempt (CIS 5.1.1).
	GuardrailClusterAdminBinding GuardrailID = "cluster-admin-binding"
	// GuardrailSecretsRead: get, list or watch on secrets (CIS 5.1.2).
	GuardrailSecretsRead GuardrailID = "secrets-read"
	// GuardrailWildcardAccess: * in verbs or resources (CIS 5.1.3).
	GuardrailWildcardAccess GuardrailID = "wildcard-access"
	// GuardrailWorkloadCreate: create pods or workload controllers (CIS 5.1.4).
	GuardrailWorkloadCreate GuardrailID = "workload-create"
	// GuardrailAnonymousBinding: a binding to system:anonymous, system:unauthenticated,
	// system:authenticated, system:serviceaccounts[:ns] or system:masters, graded by what
	// the bound role grants (CIS 5.1.7).
	GuardrailAnonymousBinding GuardrailID = "anonymous-binding"
	// GuardrailEscalationVerbs: escalate, bind or impersonate (CIS 5.1.8).
	GuardrailEscalationVerbs GuardrailID = "escalation-verbs"
	// GuardrailPersistentVolumeCreate: create persistentvolumes (CIS 5.1.9).
	GuardrailPersistentVolumeCreate GuardrailID = "persistentvolume-create"
	// GuardrailNodesProxy: the nodes/proxy subresource (CIS 5.1.10).
	GuardrailNodesProxy GuardrailID = "nodes-proxy"
	// GuardrailCSRApproval: approving certificate signing requests (CIS 5.1.11).
	GuardrailCSRApproval GuardrailID = "csr-approval"
	// GuardrailAdmissionWebhookWrite: writes to mutating or validating webhook configurations (CIS 5.1.12).
	GuardrailAdmissionWebhookWrite GuardrailID = "admission-webhook-write"
	// GuardrailServiceAccountTokenCreate: create serviceaccounts/token (CIS 5.1.13).
	GuardrailServiceAccountTokenCreate GuardrailID = "serviceaccount-token-create"
	// GuardrailPodExecAttach: pods/exec, pods/attach, pods/portforward or pods/ephemeralcontainers.
	GuardrailPodExecAttach GuardrailID = "pod-exec-attach"
	// GuardrailNamespaceWrite: patch or update namespaces (can lift Pod Security labels).
	GuardrailNamespaceWrite GuardrailID = "namespace-write"
	// GuardrailDefaultRoleAggregation: a ClusterRole labelled to aggregate into admin,
	// edit or view, which extends every subject bound to them; graded by what it grants.
	GuardrailDefaultRoleAggregation GuardrailID = "default-role-aggregation"
	// GuardrailEscalationPath: a subject reaches, through the identities its grants let
	// it act as (pods run as ServiceAccounts, tokens, impersonation, bind, escalate,
	// nodes/proxy, CSR approval), a guardrail its own grants do not; graded as the
	// guardrail reached.
	GuardrailEscalationPath GuardrailID = "escalation-path"
)

// Severity ranks a finding.
// +kubebuilder:validation:Enum=Low;Medium;High;Critical
type Severity string

const (
	SeverityLow      Severity = "Low"
	SeverityMedium   Severity = "Medium"
	SeverityHigh     Severity = "High"
	SeverityCritical Severity = "Critical"
)

// Severities lists the severities from the least to the most severe.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// GuardrailSet picks the starting set of catalog rules.
// +kubebuilder:validation:Enum=All;None
type GuardrailSet string

const (
	// GuardrailSetAll applies every catalog rule unless a rules entry disables it.
	GuardrailSetAll GuardrailSet = "All"
	// GuardrailSetNone applies only the rules listed in rules.
	GuardrailSetNone GuardrailSet = "None"
)

// Guardrails choose the dangerous-permission rules a baseline applies.
type Guardrails struct {
	// set is All (every catalog rule applies, default) or None (only those listed in rules).
	// +kubebuilder:default=All
	// +optional
	Set GuardrailSet `json:"set,omitempty"`

	// rules turn single catalog rules on or off and override their severity.
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Rules []GuardrailRule `json:"rules,omitempty"`

	// exceptions allow a guardrail for named subjects or objects, with a reason.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Exceptions []GuardrailException `json:"exceptions,omitempty"`
}

// GuardrailRule configures one catalog rule.
type GuardrailRule struct {
	// id of the catalog rule.
	// +required
	ID GuardrailID `json:"id"`

	// enabled turns the rule on or off; unset follows guardrails.set.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// severity overrides the catalog's severity for this rule.
	// +optional
	Severity Severity `json:"severity,omitempty"`
}

// GuardrailException allows a guardrail for some subjects or objects. Every field set
// must match; a field left empty matches anything.
//
// +kubebuilder:validation:XValidation:rule="(has(self.subjects) && size(self.subjects) > 0) || has(self.kind) || has(self.__namespace__) || has(self.name)",message="an exception must name subjects or an object (kind, namespace, name): an empty exception would disable the guardrail everywhere"
// +kubebuilder:validation:XValidation:rule="!has(self.__namespace__) || !has(self.kind) || self.kind == 'Role' || self.kind == 'RoleBinding'",message="namespace applies only to kind Role or RoleBinding"
// +kubebuilder:validation:XValidation:rule="!has(self.subjects) || self.subjects.all(s, s.kind != 'ServiceAccount' || (has(s.__namespace__) && size(s.__namespace__) > 0))",message="a ServiceAccount subject needs namespace"
type GuardrailException struct {
	// guardrails the exception applies to; empty means every guardrail.
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Guardrails []GuardrailID `json:"guardrails,omitempty"`

	// subjects exempt from the guardrails. Subjects exempt bindings only: a role's
	// rules have no subject, so exempt a role by kind, namespace and name.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Subjects []Subject `json:"subjects,omitempty"`

	// kind of the exempt object: Role, ClusterRole, RoleBinding or ClusterRoleBinding.
	// +kubebuilder:validation:Enum=Role;ClusterRole;RoleBinding;ClusterRoleBinding
	// +optional
	Kind string `json:"kind,omitempty"`

	// namespace of the exempt object.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name of the exempt object.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// reason records why the exception is allowed, for reviewers.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +required
	Reason string `json:"reason"`
}
