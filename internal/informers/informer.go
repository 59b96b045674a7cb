package informers

import (
	"context"
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
	"k8s.io/utils/ptr"
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
	w, err := retryUnreachable(ctx, func() (watch.Interface, error) { return p.inner.WatchWithContext(ctx, o) })
	if err != nil || ptr.Deref(o.SendInitialEvents, false) {
		return w, err
	}
	return resume(ctx, w, o, p.inner.WatchWithContext), nil
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
		if err == nil || !Unreachable(err) || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(informerRetry):
		}
	}
}

// Unreachable: no answer from the API server (connection refused or reset), or an
// answer that it cannot serve yet (starting, storage down). Any other answer, an
// expired resourceVersion among them, goes to the reflector as it is.
func Unreachable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	return apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
}

// A watch the API server ends early (etcd lost, the watch cache re-initialising, a
// proxy cutting the stream) would return to the reflector, whose next try waits a
// backoff that grows with every early end: after an etcd restart drift was seen up to
// 10 s late. So a watch that ends before the timeout the reflector asked for is
// reopened here from the last resourceVersion it delivered, and the reflector sees
// one uninterrupted stream. An expired resourceVersion (410) still goes to the
// reflector, which lists again. The streaming initial list (sendInitialEvents) is
// left to the reflector until it has been delivered.
type resumingWatch struct {
	result chan watch.Event
	stop   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	cur    watch.Interface // the API server's watch being relayed
}

func (w *resumingWatch) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the relayed watch too, so the relay's goroutine ends with it.
func (w *resumingWatch) Stop() {
	w.once.Do(func() {
		close(w.stop)
		w.mu.Lock()
		w.cur.Stop()
		w.mu.Unlock()
	})
}

// relay makes w the watch being relayed, or stops it if the relay was stopped.
func (rw *resumingWatch) relay(w watch.Interface) bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	select {
	case <-rw.stop:
		w.Stop()
		return false
	default:
		rw.cur = w
		return true
	}
}

func resume(ctx context.Context, first watch.Interface, o metav1.ListOptions,
	open func(context.Context, metav1.ListOptions) (watch.Interface, error)) watch.Interface {
	rw := &resumingWatch{result: make(chan watch.Event), stop: make(chan struct{}), cur: first}
	deadline := time.Now().Add(time.Duration(ptr.Deref(o.TimeoutSeconds, 0))*time.Second - time.Second)
	go func() {
		defer close(rw.result)
		cur, rv := first, o.ResourceVersion
		for {
			expired := false
			for ev := range cur.ResultChan() {
				if ev.Type == watch.Error {
					if apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) || apierrors.IsGone(apierrors.FromObject(ev.Object)) {
						expired = true
					} else {
						break // reopen below
					}
				}
				if obj, err := meta.Accessor(ev.Object); err == nil && ev.Type != watch.Error {
					rv = obj.GetResourceVersion()
				}
				select {
				case rw.result <- ev:
				case <-rw.stop:
					return
				}
				if expired {
					return
				}
			}
			cur.Stop()
			if o.TimeoutSeconds == nil || !time.Now().Before(deadline) || ctx.Err() != nil || rv == "" {
				return // ended on time, or nothing to resume from: the reflector takes over
			}
			select {
			case <-rw.stop:
				return
			default:
			}
			next := o
			next.ResourceVersion = rv
			next.SendInitialEvents, next.ResourceVersionMatch = nil, ""
			w, err := retryUnreachable(ctx, func() (watch.Interface, error) { return open(ctx, next) })
			if err != nil || !rw.relay(w) {
				return
			}
			cur = w
		}
	}()
	return rw
}
