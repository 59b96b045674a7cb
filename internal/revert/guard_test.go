package revert

import (
	"testing"
	"time"
)

var (
	person     = Writer{Manager: "kubectl-edit", Kind: WriterPerson}
	controller = Writer{Manager: "argocd-controller", Kind: WriterController}
)

func TestObjectGuardFights(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := t0.Add
	tests := map[string]struct {
		writer      Writer
		reverts     []time.Duration // when each revert lands
		wantStarted []bool
		wantBackoff []time.Duration
		holdAt      time.Duration // then a revert is asked for at this time
		holdBy      Writer
		wantHold    time.Duration
		wantBacking bool
	}{
		"a person is reverted every time": {writer: person, reverts: []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second},
			wantStarted: []bool{false, false, true, false}, wantBackoff: []time.Duration{0, 0, 0, 0},
			holdAt: 3*time.Second + time.Millisecond, holdBy: person},
		"a controller is backed off from, doubling": {writer: controller, reverts: []time.Duration{0, time.Second, 2 * time.Second, 8 * time.Second},
			wantStarted: []bool{false, false, true, false}, wantBackoff: []time.Duration{0, 0, 5 * time.Second, 10 * time.Second},
			holdAt: 9 * time.Second, holdBy: controller, wantHold: 9 * time.Second, wantBacking: true},
		"a person's drift during a controller's backoff is reverted": {writer: controller, reverts: []time.Duration{0, time.Second, 2 * time.Second},
			wantStarted: []bool{false, false, true}, wantBackoff: []time.Duration{0, 0, 5 * time.Second},
			holdAt: 3 * time.Second, holdBy: person},
		"a quiet minute ends the fight": {writer: controller, reverts: []time.Duration{0, time.Second, 2 * time.Second, 2*time.Minute + 2*time.Second},
			wantStarted: []bool{false, false, true, false}, wantBackoff: []time.Duration{0, 0, 5 * time.Second, 0},
			holdAt: 2*time.Minute + 3*time.Second, holdBy: controller},
		"spread over more than a minute is no fight": {writer: person, reverts: []time.Duration{0, 40 * time.Second, 80 * time.Second},
			wantStarted: []bool{false, false, false}, wantBackoff: []time.Duration{0, 0, 0}, holdAt: 81 * time.Second, holdBy: person},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewGuard()
			for i, d := range tc.reverts {
				started, backoff := g.Reverted(at(d), tc.writer)
				if started != tc.wantStarted[i] || backoff != tc.wantBackoff[i] {
					t.Fatalf("revert %d at %s: started %v backoff %s, want %v %s", i, d, started, backoff, tc.wantStarted[i], tc.wantBackoff[i])
				}
			}
			wait, backing := g.Hold(at(tc.holdAt), tc.holdBy)
			if backing != tc.wantBacking || (tc.wantBacking && wait <= 0) || (!tc.wantBacking && wait != 0) {
				t.Errorf("hold at %s by %s: wait %s backing off %v, want backing off %v", tc.holdAt, tc.holdBy.Kind, wait, backing, tc.wantBacking)
			}
		})
	}
}

func TestObjectGuardBoundsRevertsPerObject(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	g := NewGuard()
	for i := range ObjectRevertBurst {
		if wait, _ := g.Hold(t0, person); wait != 0 {
			t.Fatalf("revert %d within the burst waits %s", i, wait)
		}
	}
	if wait, backing := g.Hold(t0, person); backing || wait < 150*time.Millisecond || wait > 250*time.Millisecond {
		t.Errorf("the revert past the burst waits %s (backing off %v), want about 200ms at %d/s", wait, backing, ObjectRevertsPerSecond)
	}
}

func TestObjectGuardRetriesTransientFailuresSoon(t *testing.T) {
	g := NewGuard()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	for i, w := range want {
		retry, quiet := g.Failed(true)
		if retry != w || quiet != (i < TransientQuiet-1) {
			t.Errorf("transient failure %d: retry %s quiet %v, want %s %v", i+1, retry, quiet, w, i < TransientQuiet-1)
		}
	}
	if retry, quiet := g.Failed(false); retry != FailedRetry || quiet {
		t.Errorf("other failure: retry %s quiet %v, want %s, announced", retry, quiet, FailedRetry)
	}
	g.Reverted(time.Now(), person)
	if retry, _ := g.Failed(true); retry != TransientRetry {
		t.Errorf("after a success the retry starts again at %s, got %s", TransientRetry, retry)
	}
}
