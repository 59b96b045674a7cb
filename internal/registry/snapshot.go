package registry

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// snapshot lists the live RBAC and Namespaces from the informer cache without deep
// copies: the engine only reads them and cache objects are never modified.
func snapshot(ctx context.Context, c client.Reader) (*drift.Snapshot, error) {
	var (
		roles  rbacv1.RoleList
		croles rbacv1.ClusterRoleList
		rbs    rbacv1.RoleBindingList
		crbs   rbacv1.ClusterRoleBindingList
		nss    corev1.NamespaceList
	)
	for _, l := range []client.ObjectList{&roles, &croles, &rbs, &crbs, &nss} {
		if err := c.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
	}
	return &drift.Snapshot{Roles: roles.Items, ClusterRoles: croles.Items, RoleBindings: rbs.Items,
		ClusterRoleBindings: crbs.Items, Namespaces: nss.Items}, nil
}

// NamespaceObjects lists a namespace's Roles and RoleBindings from c without deep
// copies, for New; a failed list is logged by onError and yields what was read (the
// next resync adds the rest).
func NamespaceObjects(c client.Reader, onError func(err error, ns string)) func(ns string) []client.Object {
	return func(ns string) []client.Object {
		ctx := context.Background()
		var roles rbacv1.RoleList
		var rbs rbacv1.RoleBindingList
		for _, l := range []client.ObjectList{&roles, &rbs} {
			if err := c.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
				onError(err, ns)
			}
		}
		out := make([]client.Object, 0, len(roles.Items)+len(rbs.Items))
		for i := range roles.Items {
			out = append(out, &roles.Items[i])
		}
		for i := range rbs.Items {
			out = append(out, &rbs.Items[i])
		}
		return out
	}
}
