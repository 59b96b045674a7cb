package controllers

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// Per-object revert bounds. A writer that repeats a change is reverted every time, at
// most objectRevertsPerSecond times a second (a burst of objectRevertBurst), so two
// writers cannot turn one object into a write storm. loopThreshold reverts within
// loopWindow make a fight, which is reported; only when the writer is named as another
// controller do reverts back off, from loopBackoffMin doubling to loopBackoffMax, until
// it stays quiet for a loopWindow.
const (
	objectRevertsPerSecond = 5
	objectRevertBurst      = 5
	loopThreshold          = 3
	loopWindow             = time.Minute
	loopBackoffMin         = 5 * time.Second
	loopBackoffMax         = 10 * time.Minute
)

// objectGuard is what the operator remembers of reverting one object.
type objectGuard struct {
	limiter *rate.Limiter
	recent  []time.Time // reverts within loopWindow, oldest first
	backoff time.Duration
	until   time.Time // no revert before, while a controller fights
	fight   *fight
	// failures counts the failed reverts since the last one that succeeded.
	failures int
}

// Retries of a failed revert: a transient error (the API server or etcd restarting,
// a timeout) is retried after transientRetry, doubling, and announced only once it
// has failed transientQuiet times; any other error waits failedRetry.
const (
	transientRetry = 100 * time.Millisecond
	transientQuiet = 5
)

// failed records a failed revert and returns when to retry, and whether the failure
// is still too young to announce.
func (g *objectGuard) failed(transient bool) (time.Duration, bool) {
	g.failures++
	if !transient {
		return failedRetry, false
	}
	return min(transientRetry<<min(g.failures-1, 10), failedRetry), g.failures < transientQuiet
}

// fight is an object drifted again and again.
type fight struct {
	writer      revert.Writer
	since, last time.Time
	reverts     int
}

func newObjectGuard() *objectGuard {
	return &objectGuard{limiter: rate.NewLimiter(objectRevertsPerSecond, objectRevertBurst)}
}

// hold says how long a revert of a drift by w must wait at now, and whether the wait
// is a backoff from a fighting controller (true) or the per-object bound (false).
// A zero duration means go ahead; the per-object token is then taken.
func (g *objectGuard) hold(now time.Time, w revert.Writer) (time.Duration, bool) {
	g.expire(now)
	if w.Kind == revert.WriterController && now.Before(g.until) {
		return g.until.Sub(now), true
	}
	res := g.limiter.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, false
}

// reverted records a revert of a drift by w. It returns whether this revert starts a
// fight, and the backoff armed if the writer is a controller (0 otherwise).
func (g *objectGuard) reverted(now time.Time, w revert.Writer) (started bool, backoff time.Duration) {
	g.expire(now)
	g.failures = 0
	kept := g.recent[:0]
	for _, t := range g.recent {
		if now.Sub(t) < loopWindow {
			kept = append(kept, t)
		}
	}
	g.recent = append(kept, now)
	if len(g.recent) < loopThreshold {
		return false, 0
	}
	if g.fight == nil {
		g.fight = &fight{since: g.recent[0], reverts: len(g.recent) - 1}
		started = true
	}
	g.fight.writer, g.fight.last = w, now
	g.fight.reverts++
	if w.Kind != revert.WriterController {
		g.backoff, g.until = 0, time.Time{}
		return started, 0
	}
	g.backoff = min(max(g.backoff*2, loopBackoffMin), loopBackoffMax)
	g.until = now.Add(g.backoff)
	return started, g.backoff
}

// expire ends a fight after a quiet loopWindow.
func (g *objectGuard) expire(now time.Time) {
	if g.fight != nil && now.Sub(g.fight.last) >= loopWindow && !now.Before(g.until) {
		g.fight, g.backoff, g.until, g.recent = nil, 0, time.Time{}, g.recent[:0]
	}
}

// active is the ongoing fight at now, or nil.
func (g *objectGuard) active(now time.Time) *fight {
	g.expire(now)
	return g.fight
}

// idle reports whether the guard holds nothing worth keeping at now.
func (g *objectGuard) idle(now time.Time) bool {
	if g.active(now) != nil {
		return false
	}
	return len(g.recent) == 0 || now.Sub(g.recent[len(g.recent)-1]) >= loopWindow
}

// describe renders a fight for the Enforced condition and events.
func (f *fight) describe(ref string, now time.Time, until time.Time) string {
	msg := fmt.Sprintf("%s was drifted and reverted %d times since %s, last by %s (%s)", ref, f.reverts,
		f.since.UTC().Format(time.RFC3339), f.writer, f.writer.Kind)
	if f.writer.Kind == revert.WriterController && now.Before(until) {
		return msg + fmt.Sprintf(": another controller writes it; reverts back off until %s and the drift stays reported",
			until.UTC().Format(time.RFC3339))
	}
	return msg + ": reverted every time; find and stop the writer"
}
