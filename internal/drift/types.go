package drift

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

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

// RBAC lists the snapshot's Roles, ClusterRoles and their bindings, as pointers
// into it.
func (s *Snapshot) RBAC() []runtime.Object {
	out := make([]runtime.Object, 0, len(s.Roles)+len(s.ClusterRoles)+len(s.RoleBindings)+len(s.ClusterRoleBindings))
	for i := range s.Roles {
		out = append(out, &s.Roles[i])
	}
	for i := range s.ClusterRoles {
		out = append(out, &s.ClusterRoles[i])
	}
	for i := range s.RoleBindings {
		out = append(out, &s.RoleBindings[i])
	}
	for i := range s.ClusterRoleBindings {
		out = append(out, &s.ClusterRoleBindings[i])
	}
	return out
}

// Add puts objects into the snapshot by kind: RBAC objects and Namespaces; others
// are ignored.
func (s *Snapshot) Add(objs ...runtime.Object) {
	for _, o := range objs {
		switch t := o.(type) {
		case *rbacv1.Role:
			s.Roles = append(s.Roles, *t)
		case *rbacv1.ClusterRole:
			s.ClusterRoles = append(s.ClusterRoles, *t)
		case *rbacv1.RoleBinding:
			s.RoleBindings = append(s.RoleBindings, *t)
		case *rbacv1.ClusterRoleBinding:
			s.ClusterRoleBindings = append(s.ClusterRoleBindings, *t)
		case *corev1.Namespace:
			s.Namespaces = append(s.Namespaces, *t)
		}
	}
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
