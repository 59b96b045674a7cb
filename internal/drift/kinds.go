package drift

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RefOf names a live object the Evaluator knows: an RBAC object or a Namespace.
func RefOf(obj runtime.Object) (ObjectRef, bool) {
	switch t := obj.(type) {
	case *rbacv1.Role:
		return ObjectRef{KindRole, t.Namespace, t.Name}, true
	case *rbacv1.ClusterRole:
		return ObjectRef{KindClusterRole, "", t.Name}, true
	case *rbacv1.RoleBinding:
		return ObjectRef{KindRoleBinding, t.Namespace, t.Name}, true
	case *rbacv1.ClusterRoleBinding:
		return ObjectRef{KindClusterRoleBinding, "", t.Name}, true
	case *corev1.Namespace:
		return ObjectRef{KindNamespace, "", t.Name}, true
	}
	return ObjectRef{}, false
}

// entryOf makes the entry of an RBAC object; false for any other type.
func entryOf(obj runtime.Object) (entry, bool) {
	switch t := obj.(type) {
	case *rbacv1.Role:
		return roleEntry(KindRole, t.Namespace, t.Name, t.Labels, t.Rules, nil), true
	case *rbacv1.ClusterRole:
		return roleEntry(KindClusterRole, "", t.Name, t.Labels, t.Rules, t.AggregationRule), true
	case *rbacv1.RoleBinding:
		return bindingEntry(KindRoleBinding, t.Namespace, t.Name, t.Labels, &t.RoleRef, t.Subjects), true
	case *rbacv1.ClusterRoleBinding:
		return bindingEntry(KindClusterRoleBinding, "", t.Name, t.Labels, &t.RoleRef, t.Subjects), true
	}
	return entry{}, false
}

// Object is what NewObject returns: a Kubernetes object with metadata (the shape of
// controller-runtime's client.Object, which the engine does not import).
type Object interface {
	metav1.Object
	runtime.Object
}

// NewObject returns an empty object of an RBAC kind, or nil for any other kind. With
// RefOf it is the one table between kinds and Go types.
func NewObject(kind string) Object {
	switch kind {
	case KindRole:
		return &rbacv1.Role{}
	case KindClusterRole:
		return &rbacv1.ClusterRole{}
	case KindRoleBinding:
		return &rbacv1.RoleBinding{}
	case KindClusterRoleBinding:
		return &rbacv1.ClusterRoleBinding{}
	}
	return nil
}
