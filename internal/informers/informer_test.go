package informers

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

func role(rv string) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", ResourceVersion: rv}}
}

func next(t *testing.T, w watch.Interface) (watch.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		return ev, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return watch.Event{}, false
	}
}

func TestResumeReopensAnEarlyEndFromTheLastResourceVersion(t *testing.T) {
	first, second := watch.NewFake(), watch.NewFake()
	var reopened []string
	open := func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
		reopened = append(reopened, o.ResourceVersion)
		return second, nil
	}
	w := resume(context.Background(), first, metav1.ListOptions{ResourceVersion: "10", TimeoutSeconds: ptr.To[int64](300)}, open)
	go func() {
		first.Add(role("11"))
		first.Stop() // the API server ends the stream early
		second.Modify(role("12"))
	}()
	for _, want := range []string{"11", "12"} {
		ev, ok := next(t, w)
		if !ok || ev.Object.(*rbacv1.Role).ResourceVersion != want {
			t.Fatalf("got %v (open %v), want the event at resourceVersion %s", ev, ok, want)
		}
	}
	if len(reopened) != 1 || reopened[0] != "11" {
		t.Errorf("reopened from %v, want once from 11", reopened)
	}
	w.Stop()
	if _, ok := <-w.ResultChan(); ok {
		t.Error("the relay did not close after Stop")
	}
	if !second.IsStopped() {
		t.Error("Stop did not stop the relayed watch")
	}
}

func TestResumeHandsAnExpiredResourceVersionToTheReflector(t *testing.T) {
	first := watch.NewFake()
	open := func(context.Context, metav1.ListOptions) (watch.Interface, error) {
		t.Error("reopened after 410 Gone: the reflector must list again")
		return watch.NewFake(), nil
	}
	w := resume(context.Background(), first, metav1.ListOptions{ResourceVersion: "10", TimeoutSeconds: ptr.To[int64](300)}, open)
	gone := apierrors.NewResourceExpired("too old resource version")
	go first.Error(&gone.ErrStatus)
	if ev, ok := next(t, w); !ok || ev.Type != watch.Error {
		t.Fatalf("got %v, want the expiry error", ev)
	}
	if _, ok := next(t, w); ok {
		t.Error("the relay stayed open after the expiry")
	}
}

func TestResumeLetsAWatchEndOnTime(t *testing.T) {
	first := watch.NewFake()
	open := func(context.Context, metav1.ListOptions) (watch.Interface, error) {
		t.Error("reopened a watch that ended at its timeout")
		return watch.NewFake(), nil
	}
	w := resume(context.Background(), first, metav1.ListOptions{ResourceVersion: "10", TimeoutSeconds: ptr.To[int64](1)}, open)
	go func() {
		time.Sleep(50 * time.Millisecond) // past the timeout less a second's margin
		first.Stop()
	}()
	if _, ok := next(t, w); ok {
		t.Error("the relay stayed open")
	}
}

func TestUnreachable(t *testing.T) {
	gr := schema.GroupResource{Resource: "roles"}
	tests := map[string]struct {
		err  error
		want bool
	}{
		"connection refused":  {&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		"service unavailable": {apierrors.NewServiceUnavailable("starting"), true},
		"internal error":      {apierrors.NewInternalError(errors.New("etcd")), true},
		"too many requests":   {apierrors.NewTooManyRequests("busy", 1), true},
		"expired":             {apierrors.NewResourceExpired("too old"), false},
		"forbidden":           {apierrors.NewForbidden(gr, "r", errors.New("no")), false},
		"not found":           {apierrors.NewNotFound(gr, "r"), false},
	}
	for name, tc := range tests {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("%s: unreachable = %v, want %v", name, got, tc.want)
		}
	}
}
