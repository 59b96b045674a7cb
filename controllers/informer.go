package controllers

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
)

// An informer whose list or watch fails waits before its next try, doubling from
// 0.8 s up to 30 s with jitter: after a 10 s API server outage the operator saw drift
// made after recovery only 20-30 s late, all that time unreverted. Instead, a list or
// watch that cannot reach the API server is retried here every informerRetry for up to
// informerRetryFor, so the informer resumes within a fraction of a second of recovery.
const (
	informerRetry    = 250 * time.Millisecond
	informerRetryFor = 10 * time.Minute
)

// newInformer is controller-runtime's informer constructor over a persistent lister-watcher.
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(persistentListWatch{inner: toolscache.ToListerWatcherWithContext(lw), orig: lw}, obj, resync, indexers)
}

// persistentListWatch retries requests the API server did not answer.
type persistentListWatch struct {
	inner toolscache.ListerWatcherWithContext
	orig  toolscache.ListerWatcher
}

func (p persistentListWatch) List(o metav1.ListOptions) (runtime.Object, error) {
	return p.ListWithContext(context.Background(), o)
}

func (p persistentListWatch) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return p.WatchWithContext(context.Background(), o)
}

func (p persistentListWatch) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return retryUnreachable(ctx, func() (runtime.Object, error) { return p.inner.ListWithContext(ctx, o) })
}

func (p persistentListWatch) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return retryUnreachable(ctx, func() (watch.Interface, error) { return p.inner.WatchWithContext(ctx, o) })
}

// IsWatchListSemanticsUnSupported passes on what the wrapped lister-watcher says, so the
// reflector streams its initial list when the client can.
func (p persistentListWatch) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(p.orig)
}

func retryUnreachable[T any](ctx context.Context, call func() (T, error)) (T, error) {
	deadline := time.Now().Add(informerRetryFor)
	for {
		v, err := call()
		if err == nil || !unreachable(err) || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(informerRetry):
		}
	}
}

// unreachable: no answer from the API server (connection refused or reset), or an
// answer that it cannot serve yet (starting, storage down). Any other answer, an
// expired resourceVersion among them, goes to the reflector as it is.
func unreachable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	return apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
}
