package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RoleKind is the kind of a declared role.
// +kubebuilder:validation:Enum=Role;ClusterRole
type RoleKind string

const (
	// KindRole is a namespaced rbac.authorization.k8s.io Role.
	KindRole RoleKind = "Role"
	// KindClusterRole is a cluster-scoped rbac.authorization.k8s.io ClusterRole.
	KindClusterRole RoleKind = "ClusterRole"
)

// BindingKind is the kind of a declared binding.
// +kubebuilder:validation:Enum=RoleBinding;ClusterRoleBinding
type BindingKind string

const (
	// KindRoleBinding is a namespaced rbac.authorization.k8s.io RoleBinding.
	KindRoleBinding BindingKind = "RoleBinding"
	// KindClusterRoleBinding is a cluster-scoped rbac.authorization.k8s.io ClusterRoleBinding.
	KindClusterRoleBinding BindingKind = "ClusterRoleBinding"
)

// RBACGroup is the API group of RBAC objects, and the apiGroup of User and Group subjects.
const RBACGroup = "rbac.authorization.k8s.io"

// PolicyRule is an RBAC rule, with the same fields as rbac.authorization.k8s.io/v1
// PolicyRule so rules can be copied from a Role. A rule names either resources or
// nonResourceURLs.
//
// +kubebuilder:validation:XValidation:rule="(has(self.resources) && size(self.resources) > 0) != (has(self.nonResourceURLs) && size(self.nonResourceURLs) > 0)",message="a rule names either resources (with apiGroups) or nonResourceURLs, not both and not neither"
// +kubebuilder:validation:XValidation:rule="!has(self.resources) || size(self.resources) == 0 || (has(self.apiGroups) && size(self.apiGroups) > 0)",message="a rule with resources needs apiGroups: use [\"\"] for the core group"
type PolicyRule struct {
	// verbs the rule allows, such as get, list, watch, create, update, patch, delete, or * for all.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +required
	Verbs []string `json:"verbs"`

	// apiGroups the resources belong to; "" is the core group and * all groups.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	APIGroups []string `json:"apiGroups,omitempty"`

	// resources the rule applies to, with subresources as resource/subresource (pods/exec); * for all.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Resources []string `json:"resources,omitempty"`

	// resourceNames restricts the rule to these object names.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	ResourceNames []string `json:"resourceNames,omitempty"`

	// nonResourceURLs are URL paths such as /healthz or /metrics; a trailing * matches a prefix.
	// Only ClusterRoles may carry them.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
}

// AggregationRule selects the ClusterRoles whose rules an aggregated ClusterRole
// collects. An aggregated ClusterRole is compared by this rule, never by its rules,
// because the controller-manager rewrites its rules.
type AggregationRule struct {
	// clusterRoleSelectors select the ClusterRoles to aggregate.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +required
	ClusterRoleSelectors []metav1.LabelSelector `json:"clusterRoleSelectors"`
}

// DesiredRole is a Role or ClusterRole that must exist with exactly these rules
// (compared semantically), or with this aggregation rule.
//
// +kubebuilder:validation:XValidation:rule="has(self.rules) != has(self.aggregationRule)",message="a role declares either rules or aggregationRule, not both and not neither"
// +kubebuilder:validation:XValidation:rule="!has(self.aggregationRule) || self.kind == 'ClusterRole'",message="only a ClusterRole may have an aggregationRule"
// +kubebuilder:validation:XValidation:rule="self.kind == 'ClusterRole' || !has(self.rules) || self.rules.all(r, !has(r.nonResourceURLs) || size(r.nonResourceURLs) == 0)",message="a Role cannot carry nonResourceURLs: declare a ClusterRole instead"
// +kubebuilder:validation:XValidation:rule="self.kind == 'Role' || !has(self.namespaces)",message="a ClusterRole is cluster-scoped and has no namespaces: remove namespaces"
type DesiredRole struct {
	// kind is Role or ClusterRole.
	// +required
	Kind RoleKind `json:"kind"`

	// name of the role, a valid RBAC object name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[^/%]+$`
	// +required
	Name string `json:"name"`

	// namespaces, for a Role, are the namespaces it is expected in, among those the
	// scope selects. Empty: every selected namespace that no other declaration of this
	// kind and name lists. Declarations of one kind and name list disjoint namespaces,
	// and at most one lists none, so a name can have different rules per namespace.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// rules the role must grant, no more and no less. Order, duplicates and
	// splitting or merging rules are not drift.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Rules []PolicyRule `json:"rules,omitempty"`

	// aggregationRule, for an aggregated ClusterRole, replaces rules.
	// +optional
	AggregationRule *AggregationRule `json:"aggregationRule,omitempty"`
}

// SubjectKind is the kind of an RBAC subject.
// +kubebuilder:validation:Enum=User;Group;ServiceAccount
type SubjectKind string

const (
	// SubjectUser is a user name as the authenticator reports it.
	SubjectUser SubjectKind = "User"
	// SubjectGroup is a group name as the authenticator reports it.
	SubjectGroup SubjectKind = "Group"
	// SubjectServiceAccount is a ServiceAccount in a namespace.
	SubjectServiceAccount SubjectKind = "ServiceAccount"
)

// Subject is an RBAC subject: a User, a Group, or a ServiceAccount. A ServiceAccount
// of a RoleBinding may omit its namespace, which then is the binding's (as Kubernetes
// reads it); everywhere else it needs one.
//
// +kubebuilder:validation:XValidation:rule="self.kind != 'ServiceAccount' || !has(self.apiGroup) || size(self.apiGroup) == 0",message="a ServiceAccount subject has an empty apiGroup"
// +kubebuilder:validation:XValidation:rule="self.kind == 'ServiceAccount' || (has(self.apiGroup) && self.apiGroup == 'rbac.authorization.k8s.io')",message="a User or Group subject needs apiGroup: rbac.authorization.k8s.io"
// +kubebuilder:validation:XValidation:rule="self.kind == 'ServiceAccount' || !has(self.__namespace__) || size(self.__namespace__) == 0",message="only a ServiceAccount subject has a namespace"
type Subject struct {
	// kind is User, Group or ServiceAccount.
	// +required
	Kind SubjectKind `json:"kind"`

	// apiGroup is rbac.authorization.k8s.io for User and Group, and empty for ServiceAccount.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`

	// name of the user, group or ServiceAccount.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// namespace of a ServiceAccount subject.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// RoleRef names the role a binding grants.
type RoleRef struct {
	// kind is Role or ClusterRole.
	// +required
	Kind RoleKind `json:"kind"`

	// name of the role.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// DesiredBinding is a RoleBinding or ClusterRoleBinding that must exist, granting
// roleRef to exactly these subjects.
//
// +kubebuilder:validation:XValidation:rule="self.kind == 'RoleBinding' || self.roleRef.kind == 'ClusterRole'",message="a ClusterRoleBinding can only reference a ClusterRole: set roleRef.kind to ClusterRole"
// +kubebuilder:validation:XValidation:rule="self.kind == 'RoleBinding' || !has(self.subjects) || self.subjects.all(s, s.kind != 'ServiceAccount' || (has(s.__namespace__) && size(s.__namespace__) > 0))",message="a ServiceAccount subject of a ClusterRoleBinding needs namespace (only a RoleBinding's may omit it)"
// +kubebuilder:validation:XValidation:rule="self.kind == 'RoleBinding' || !has(self.namespaces)",message="a ClusterRoleBinding is cluster-scoped and has no namespaces: remove namespaces"
type DesiredBinding struct {
	// kind is RoleBinding or ClusterRoleBinding.
	// +required
	Kind BindingKind `json:"kind"`

	// name of the binding.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[^/%]+$`
	// +required
	Name string `json:"name"`

	// namespaces, for a RoleBinding, are the namespaces it is expected in, among those the
	// scope selects. Empty: every selected namespace that no other declaration of this
	// kind and name lists. Declarations of one kind and name list disjoint namespaces,
	// and at most one lists none, so a name can have different subjects per namespace.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// roleRef is the role the binding grants. It cannot change on a live binding.
	// +required
	RoleRef RoleRef `json:"roleRef"`

	// subjects the binding must name, no more and no less.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Subjects []Subject `json:"subjects,omitempty"`
}

// SubjectCeiling is the most one subject may be granted through every binding in
// scope together, directly or through its groups.
//
// +kubebuilder:validation:XValidation:rule="self.subject.kind != 'ServiceAccount' || (has(self.subject.__namespace__) && size(self.subject.__namespace__) > 0)",message="a ServiceAccount subject needs namespace"
type SubjectCeiling struct {
	// subject the ceiling applies to.
	// +required
	Subject Subject `json:"subject"`

	// rules are the ceiling: every permission granted to the subject in scope must be
	// covered by one of them. A grant through a RoleBinding is checked in its namespace
	// only. No rules means the subject may be granted nothing in scope.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Rules []PolicyRule `json:"rules,omitempty"`
	// judge is what the ceiling is checked against: Direct (the default), the grants
	// of the bindings that name the subject or its groups; or Effective, also what the
	// subject holds through escalation paths: the grants of each identity it can act
	// as (running pods or minting tokens as a ServiceAccount, impersonation, nodes/proxy)
	// and any permission where it may bind, escalate or approve certificates. Effective
	// costs a walk per change of what the paths go through; it is reported on the
	// binding that opens the path, with the path in the message.
	// +optional
	Judge CeilingJudge `json:"judge,omitempty"`
}

// CeilingJudge is what a ceiling is checked against.
// +kubebuilder:validation:Enum=Direct;Effective
type CeilingJudge string

const (
	// CeilingDirect checks the subject's own grants.
	CeilingDirect CeilingJudge = "Direct"
	// CeilingEffective also checks what the subject reaches through escalation paths.
	CeilingEffective CeilingJudge = "Effective"
)
