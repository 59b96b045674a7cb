package informers

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// RBACObject reads the RBAC object ref names from c (the cache); nil when it does not
// exist or ref is no RBAC object. Events regarding it carry its UID and show in
// kubectl describe.
func RBACObject(ctx context.Context, c client.Reader, ref drift.ObjectRef, opts ...client.GetOption) client.Object {
	obj := drift.NewObject(ref.Kind)
	if obj == nil {
		return nil
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, obj, opts...); err != nil {
		return nil
	}
	return obj
}
