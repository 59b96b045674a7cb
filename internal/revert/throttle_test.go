package revert

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tests := map[string]struct {
		steps func(th *Throttle)
		at    time.Duration
		want  float64
	}{
		"full rate when nothing throttles": {func(*Throttle) {}, time.Second, 100},
		"one 429 halves the rate":          {func(th *Throttle) { th.Throttled(t0) }, 0, 50},
		"429s within a second cut once": {func(th *Throttle) {
			th.Throttled(t0)
			th.Throttled(t0.Add(10 * time.Millisecond))
			th.Throttled(t0.Add(900 * time.Millisecond))
		}, 900 * time.Millisecond, 50 + 100*0.09},
		"429s a second apart cut again": {func(th *Throttle) {
			th.Throttled(t0)
			th.Throttled(t0.Add(time.Second))
		}, time.Second, 25},
		"never below the floor": {func(th *Throttle) {
			for i := range 20 {
				th.Throttled(t0.Add(time.Duration(i) * time.Second))
			}
		}, 19 * time.Second, 100.0 / 64},
		"grows back a tenth per second":   {func(th *Throttle) { th.Throttled(t0) }, 2 * time.Second, 70},
		"back to full after five seconds": {func(th *Throttle) { th.Throttled(t0) }, 6 * time.Second, 100},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			th := NewThrottle(100, 10)
			tc.steps(th)
			if got := th.LimitAt(t0.Add(tc.at)); got < tc.want-0.01 || got > tc.want+0.01 {
				t.Errorf("rate %.2f, want %.2f", got, tc.want)
			}
		})
	}
}

func TestThrottleDelay(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	th := NewThrottle(100, 10)
	for i := range 10 {
		if d := th.Delay(t0); d != 0 {
			t.Fatalf("revert %d within the burst waits %s", i, d)
		}
	}
	if d := th.Delay(t0); d < 9*time.Millisecond || d > 11*time.Millisecond {
		t.Errorf("the 11th revert waits %s, want 10ms at 100/s", d)
	}
	if d := NewThrottle(0, 0).Delay(t0); d != 0 {
		t.Errorf("a disabled throttle delays %s", d)
	}
}

func TestThrottleWrapTransportSees429(t *testing.T) {
	codes := []int{http.StatusOK, http.StatusTooManyRequests, http.StatusOK}
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[i])
		i++
	}))
	defer srv.Close()
	th := NewThrottle(100, 10)
	c := &http.Client{Transport: th.WrapTransport(http.DefaultTransport)}
	for range codes {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	if got := th.ThrottledCount(); got != 1 {
		t.Errorf("counted %d throttled answers, want 1", got)
	}
	if got := th.LimitAt(time.Now()); got > 51 {
		t.Errorf("rate %.1f after a 429, want about 50", got)
	}
}
