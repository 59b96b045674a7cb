package revert

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttle is the one revert budget of the whole operator: a token bucket shared by
// every baseline, sized to what the API server takes. When the API server answers
// 429 Too Many Requests the rate halves (at most once per cut interval, down to a
// floor), then grows back by a tenth of the maximum each second: additive increase,
// multiplicative decrease, as TCP shares a link. A quiet API server therefore sees the
// full rate, and an overloaded one is given room without any per-baseline cap that
// would leave drift in place.
type Throttle struct {
	mu       sync.Mutex
	lim      *rate.Limiter
	max, min rate.Limit
	// cutAt is when the rate was last halved; grownAt when it last grew.
	cutAt, grownAt time.Time
	throttled      int64
}

// throttleCutEvery is the least time between two halvings: one overload answers many
// requests in flight with 429 at once, and that is one signal, not many.
const throttleCutEvery = time.Second

// NewThrottle makes a budget of qps reverts per second with a burst of burst. qps <= 0
// disables it (every Wait returns at once).
func NewThrottle(qps float64, burst int) *Throttle {
	if qps <= 0 {
		return &Throttle{lim: rate.NewLimiter(rate.Inf, 0), max: rate.Inf, min: rate.Inf}
	}
	return &Throttle{lim: rate.NewLimiter(rate.Limit(qps), max(1, burst)), max: rate.Limit(qps), min: rate.Limit(max(1, qps/64))}
}

// Wait blocks until one revert may start, or ctx ends.
func (t *Throttle) Wait(ctx context.Context) error {
	t.grow(time.Now())
	return t.lim.Wait(ctx)
}

// Delay reserves one revert at now and returns how long it must wait (0: go ahead).
func (t *Throttle) Delay(now time.Time) time.Duration {
	t.grow(now)
	return t.lim.ReserveN(now, 1).DelayFrom(now)
}

// Throttled records a 429 answer seen at now and halves the rate.
func (t *Throttle) Throttled(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.throttled++
	if t.max == rate.Inf || now.Sub(t.cutAt) < throttleCutEvery {
		return
	}
	t.cutAt, t.grownAt = now, now
	t.lim.SetLimitAt(now, max(t.min, t.lim.Limit()/2))
}

// grow restores a tenth of the maximum rate per second since the last cut or growth.
func (t *Throttle) grow(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.lim.Limit()
	if cur >= t.max {
		return
	}
	elapsed := now.Sub(t.grownAt)
	if elapsed < 100*time.Millisecond {
		return
	}
	t.grownAt = now
	t.lim.SetLimitAt(now, min(t.max, cur+t.max*rate.Limit(elapsed.Seconds()/10)))
}

// LimitAt is the rate at now, in reverts per second.
func (t *Throttle) LimitAt(now time.Time) float64 {
	t.grow(now)
	return float64(t.lim.Limit())
}

// WrapTransport observes every response of a client built on rt (rest.Config's
// WrapTransport) and halves the rate on each 429, however client-go then retries it.
func (t *Throttle) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			t.Throttled(time.Now())
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// ThrottledCount is how many 429 answers were recorded.
func (t *Throttle) ThrottledCount() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.throttled
}
