package harness

import (
	"context"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CreateWhenServed creates obj, retrying while the admission webhook that must judge
// it does not answer yet (the RoleBaseline webhook fails closed, and a manager
// just started serves it once its caches are in sync), for at most timeout.
func CreateWhenServed(ctx context.Context, c client.Client, obj client.Object, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.Create(ctx, obj)
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
