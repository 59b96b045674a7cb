package revert

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Per-object revert bounds. A writer that repeats a change is reverted every time, at
// most ObjectRevertsPerSecond times a second (a burst of ObjectRevertBurst), so two
// writers cannot turn one object into a write storm. LoopThreshold reverts within
// LoopWindow make a fight, which is reported; only when the writer is named as another
// controller do reverts back off, from LoopBackoffMin doubling to LoopBackoffMax, until
// it stays quiet for a LoopWindow.
const (
	ObjectRevertsPerSecond = 5
	ObjectRevertBurst      = 5
	LoopThreshold          = 3
	LoopWindow             = time.Minute
	LoopBackoffMin         = 5 * time.Second
	LoopBackoffMax         = 10 * time.Minute
)

// Guard is what the operator remembers of reverting one object: it bounds the
// object's reverts, detects fights and backs off from a fighting controller. It is
// pure (the caller passes the time) and not safe for concurrent use.
type Guard struct {
	limiter *rate.Limiter
	recent  []time.Time // reverts within LoopWindow, oldest first
	backoff time.Duration
	until   time.Time // no revert before, while a controller fights
	fight   *Fight
	// failures counts the failed reverts since the last one that succeeded.
	failures int
}

// Until is when a fighting controller's backoff ends (zero: none).
func (g *Guard) Until() time.Time { return g.until }

// Fight is the ongoing fight, or nil; see Active for one that expires with time.
func (g *Guard) Fight() *Fight { return g.fight }

// FailedRetry is when a revert that failed on a lasting error is retried.
const FailedRetry = 5 * time.Second

// Retries of a failed revert: a transient error (the API server or etcd restarting,
// a timeout) is retried after TransientRetry, doubling, and announced only once it
// has failed TransientQuiet times; any other error waits FailedRetry.
const (
	TransientRetry = 100 * time.Millisecond
	TransientQuiet = 5
)

// Failed records a failed revert and returns when to retry, and whether the failure
// is still too young to announce.
func (g *Guard) Failed(transient bool) (time.Duration, bool) {
	g.failures++
	if !transient {
		return FailedRetry, false
	}
	return min(TransientRetry<<min(g.failures-1, 10), FailedRetry), g.failures < TransientQuiet
}

// Fight is an object drifted again and again.
type Fight struct {
	// Writer made the latest drift.
	Writer Writer
	// Since is when the first revert of the fight was; Last the latest.
	Since, Last time.Time
	// Reverts counts the reverts of the fight.
	Reverts int
}

func NewGuard() *Guard {
	return &Guard{limiter: rate.NewLimiter(ObjectRevertsPerSecond, ObjectRevertBurst)}
}

// Hold says how long a revert of a drift by w must wait at now, and whether the wait
// is a backoff from a fighting controller (true) or the per-object bound (false).
// A zero duration means go ahead; the per-object token is then taken.
func (g *Guard) Hold(now time.Time, w Writer) (time.Duration, bool) {
	g.expire(now)
	if w.Kind == WriterController && now.Before(g.until) {
		return g.until.Sub(now), true
	}
	res := g.limiter.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, false
}

// Reverted records a revert of a drift by w. It returns whether this revert starts a
// fight, and the backoff armed if the writer is a controller (0 otherwise).
func (g *Guard) Reverted(now time.Time, w Writer) (started bool, backoff time.Duration) {
	g.expire(now)
	g.failures = 0
	kept := g.recent[:0]
	for _, t := range g.recent {
		if now.Sub(t) < LoopWindow {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	g.recent = kept
	if len(g.recent) < LoopThreshold {
		return false, 0
	}
	if g.fight == nil {
		g.fight = &Fight{Since: g.recent[0], Reverts: len(g.recent) - 1}
		started = true
	}
	g.fight.Writer, g.fight.Last = w, now
	g.fight.Reverts++
	if w.Kind != WriterController {
		g.backoff, g.until = 0, time.Time{}
		return started, 0
	}
	g.backoff = min(max(g.backoff*2, LoopBackoffMin), LoopBackoffMax)
	g.until = now.Add(g.backoff)
	return started, g.backoff
}

// expire ends a fight after a quiet LoopWindow.
func (g *Guard) expire(now time.Time) {
	if g.fight != nil && now.Sub(g.fight.Last) >= LoopWindow && !now.Before(g.until) {
		g.fight, g.backoff, g.until, g.recent = nil, 0, time.Time{}, g.recent[:0]
	}
}

// Active is the ongoing fight at now, or nil.
func (g *Guard) Active(now time.Time) *Fight {
	g.expire(now)
	return g.fight
}

// Idle reports whether the guard holds nothing worth keeping at now.
func (g *Guard) Idle(now time.Time) bool {
	if g.Active(now) != nil {
		return false
	}
	return len(g.recent) == 0 || now.Sub(g.recent[len(g.recent)-1]) >= LoopWindow
}

// Describe renders a fight for the Enforced condition and events.
func (f *Fight) Describe(ref string, now time.Time, until time.Time) string {
	msg := fmt.Sprintf("%s was drifted and reverted %d times since %s, last by %s (%s)", ref, f.Reverts,
		f.Since.UTC().Format(time.RFC3339), f.Writer, f.Writer.Kind)
	if f.Writer.Kind == WriterController && now.Before(until) {
		return msg + fmt.Sprintf(": another controller writes it; reverts back off until %s and the drift stays reported",
			until.UTC().Format(time.RFC3339))
	}
	return msg + ": reverted every time; find and stop the writer"
}
