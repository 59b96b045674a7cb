// Package drift is the engine that decides what is drift: given a RoleBaseline spec and
// a snapshot of live RBAC objects it returns a deterministic, sorted list of findings.
// It is pure: no client, no clock, no logging, and it never modifies its inputs.
// Controllers, the admission webhook and the CLI all call it.
//
// Entry points: Evaluate for a one-shot evaluation; an Evaluator (NewEvaluator, Load,
// Upsert, Delete, Findings, Top, Counts) kept per baseline to follow informer events
// with work proportional to the change; Evaluator.Preview for what a proposed change
// would introduce, without keeping it (the admission webhook); CompileScope to map an
// RBAC event to the baselines that cover it.
//
// Decisions the API leaves open:
//   - Rules are compared with validation.Covers both ways; the reported rules are the
//     uncovered pieces (validation.BreakdownRule) merged back into few rules. Order,
//     duplicates and split-vs-merged rules are not drift.
//   - An aggregated ClusterRole is compared by its aggregationRule (selectors as a set).
//     Live selectors the declaration lacks are RulesAdded, declared ones the live role
//     lacks (or no aggregationRule at all) RulesRemoved; both carry no rules, only a
//     message. A live aggregated ClusterRole declared with plain rules is one RulesAdded
//     finding saying so; its controller-written rules are not compared.
//   - Subjects are compared as sets after rbac/v1 defaulting (User and Group apiGroup
//     rbac.authorization.k8s.io, ServiceAccount ""). A ServiceAccount subject without a
//     namespace on a RoleBinding means the binding's namespace, as the RBAC authorizer
//     reads it.
//   - A declared Role or RoleBinding is expected in every existing namespace the scope
//     selects. A namespace listed by name that does not exist yet expects nothing, so
//     no Missing finding appears before the namespace does.
//   - Declared objects are exempt from objectSelector only; explicit exclusions and,
//     without includeSystem, the default exclusions still apply to them. The bootstrap
//     names (cluster-admin, admin, edit, view) are excluded only for ClusterRoles and
//     ClusterRoleBindings: a RoleBinding called admin in a namespace is a user object.
//   - Ceilings: a subject's grants are the roles of every in-scope binding naming it or
//     a group it is implicitly in (system:authenticated for users and ServiceAccounts,
//     system:serviceaccounts and system:serviceaccounts:<ns> for ServiceAccounts,
//     system:unauthenticated for system:anonymous). Roles are resolved from the whole
//     snapshot, in scope or not. A RoleBinding does not grant nonResourceURLs. One
//     ExceedsCeiling finding per (subject, granting binding), on the binding.
//   - Role guardrails are reported on the role only, not again on every binding that
//     grants it. An exception with subjects never exempts a role (roles have no
//     subject); for binding guardrails it removes those subjects from the finding.
//   - Severities: guardrail findings take the catalog (or overridden) severity;
//     RulesAdded, SubjectsAdded, RoleRefChanged and ExceedsCeiling are High; Missing
//     and Unexpected Medium; RulesRemoved and SubjectsRemoved Low.
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

// RefFromAPI converts an API object reference to the engine's.
func RefFromAPI(r v1alpha1.ObjectReference) ObjectRef {
	return ObjectRef{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// API converts the reference to the API's.
func (r ObjectRef) API() v1alpha1.ObjectReference {
	return v1alpha1.ObjectReference{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
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

// Usage is audit-log usage data, for advisory UnusedPermission findings. With nil
// usage the engine reports none: no data is not evidence that nothing was used.
type Usage interface {
	// Used reports whether subject exercised rule through binding (a RoleBinding or
	// ClusterRoleBinding) during the usage window. rule is one atomic piece as
	// validation.BreakdownRule makes it: one verb and one resource or URL. subject is
	// normalized (ServiceAccount namespace defaulted to the binding's).
	Used(binding ObjectRef, subject rbacv1.Subject, rule rbacv1.PolicyRule) bool
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

	// text is the message, or empty when Message derives it from the fields: the
	// high-volume types (Unexpected, ExceedsCeiling, UnusedPermission) are found by
	// the thousand and most are never shown, so their text is built on demand.
	text string
	// For derived messages: the binding's roleRef, the member subject through which a
	// ceiling is reached (nil: the ceiling subject itself), the description of Rules
	// when already made, and the unused and granted piece counts.
	roleRef         *rbacv1.RoleRef
	via             *rbacv1.Subject
	rulesText       *string
	unused, granted int32
}
