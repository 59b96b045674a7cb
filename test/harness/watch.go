package harness

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Watch streams the events of list's kind to on, stamped on arrival, until ctx ends.
// A closed watch (a timeout, an API server restart) is reopened from the last
// resourceVersion seen, or from now if that one is too old; errors are retried.
func Watch(ctx context.Context, c client.WithWatch, list client.ObjectList, on func(at time.Time, typ watch.EventType, obj client.Object)) error {
	open := func(rv string) (watch.Interface, error) {
		if rv == "" {
			// Too old or unknown: what changed meanwhile is not replayed.
			if err := c.List(ctx, list); err != nil {
				return nil, err
			}
			rv = list.(metav1.ListInterface).GetResourceVersion()
		}
		return c.Watch(ctx, list, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
	}
	rv := ""
	w, err := open(rv)
	if err != nil {
		return err
	}
	go func() {
		for {
			for ev := range w.ResultChan() {
				at := time.Now()
				obj, ok := ev.Object.(client.Object)
				switch {
				case ev.Type == watch.Error:
					if status, ok := ev.Object.(*metav1.Status); ok && status.Code == 410 {
						rv = "" // expired: start again from now
					}
					continue
				case !ok:
					continue
				}
				rv = obj.GetResourceVersion()
				if ev.Type != watch.Bookmark {
					on(at, ev.Type, obj)
				}
			}
			w.Stop()
			for {
				if ctx.Err() != nil {
					return
				}
				var err error
				if w, err = open(rv); err == nil {
					break
				} else if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					rv = ""
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	return nil
}
