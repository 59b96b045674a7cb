// Package drift is the engine that decides what is drift: given a RoleBaseline spec and
// a snapshot of live RBAC objects it returns a deterministic, sorted list of findings.
// It is pure: no client, no clock, no logging, and it never modifies its inputs.
// Controllers, the admission webhook and the CLI all call it.
package drift

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Object kinds the engine knows.
const (
	KindRole               = "Role"
	KindClusterRole        = "ClusterRole"
	KindRoleBinding        = "RoleBinding"
	KindClusterRoleBinding = "ClusterRoleBinding"
	KindNamespace          = "Namespace"
	KindServiceAccount     = "ServiceAccount"
)

// ObjectRef names a live object. Namespace is empty for cluster-scoped kinds.
type ObjectRef struct {
	Kind      string
	Namespace string
	Name      string
}

// String renders the reference as Kind ns/name or Kind name.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Snapshot is the live state a baseline is evaluated against. Pass every Role and
// ClusterRole the bindings may reference, also those out of scope (bootstrap roles,
// for example): ceilings need their rules. The engine filters by scope itself. The
// engine keeps pointers into the snapshot and never modifies it; callers must not
// modify it either while an Evaluator built from it is in use.
type Snapshot struct {
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	// ServiceAccounts are accepted for the usage and attribution issues; no check reads them yet.
	ServiceAccounts []corev1.ServiceAccount
	// Namespaces, with labels, decide which namespaces the scope selects and where
	// declared namespaced roles and bindings are expected.
	Namespaces []corev1.Namespace
}

// Usage is the seam for audit-log usage data (UnusedPermission findings). The engine
// accepts nil and currently reads nothing from it.
type Usage interface {
	// Used reports whether subject exercised rule in namespace ("" for cluster-wide)
	// during the usage window.
	Used(subject rbacv1.Subject, namespace string, rule rbacv1.PolicyRule) bool
}

// Finding is one departure of the live RBAC from a baseline. It carries no timestamps:
// first-seen and attribution are the caller's business.
type Finding struct {
	Type      v1alpha1.FindingType
	Object    ObjectRef
	Severity  v1alpha1.Severity
	Guardrail v1alpha1.GuardrailID
	// Subject is the ceiling subject, for ExceedsCeiling.
	Subject *rbacv1.Subject
	// Rules are the rules added, removed, beyond the ceiling, or granting the guardrail.
	Rules []rbacv1.PolicyRule
	// Subjects are the subjects added or removed, or flagged by a binding guardrail.
	Subjects []rbacv1.Subject
	Message  string
}
