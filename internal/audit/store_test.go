package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// TestFlushSavesCheckpointAfterUsage checks that the checkpoint is saved only once
// the usage of the lines before it is: a failed usage write keeps the old one, so a
// crash replays those lines instead of losing their usage.
func TestFlushSavesCheckpointAfterUsage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	appendLines(t, path, allowedBy(event("u1", "bob", "list", "", "pods", "n", "", time.Now()),
		`RBAC: allowed by RoleBinding "view/n" of ClusterRole "view" to User "bob"`))
	agg := NewAggregator(24*time.Hour, 100, nil)
	cps := &memCheckpoints{}
	fl := &Follower{Path: path, Intake: &Intake{Usage: agg}, MaxLine: DefaultMaxLine, Checkpoints: cps}
	if err := fl.openAt(path, 0); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fl.f.Close() }()
	if err := fl.drain(context.Background(), make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}

	failing := true
	c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if failing {
				return fmt.Errorf("etcdserver: request timed out")
			}
			return c.Create(ctx, obj, opts...)
		}}).Build()
	s := &Store{Client: c, Reader: c, Namespace: "ns", Usage: agg, Follower: fl}
	if err := s.Flush(context.Background()); err == nil || cps.saves != 0 {
		t.Fatalf("Flush with a failing usage write = %v, %d checkpoints saved; want an error and none", err, cps.saves)
	}
	failing = false
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var cms corev1.ConfigMapList
	if err := c.List(context.Background(), &cms); err != nil || len(cms.Items) != 1 {
		t.Fatalf("usage ConfigMaps: %d, %v; want 1", len(cms.Items), err)
	}
	info, _ := os.Stat(path)
	if cp := cps.get(t); cp.Offset != info.Size() || cps.saves != 1 {
		t.Errorf("checkpoint %+v after %d saves; want offset %d after 1", cp, cps.saves, info.Size())
	}
	if err := s.Flush(context.Background()); err != nil || cps.saves != 1 {
		t.Errorf("a flush with nothing new saved the checkpoint again (%d saves, %v)", cps.saves, err)
	}
}
