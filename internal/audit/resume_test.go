package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// followerRun is one life of a follower, as one process of the manager.
type followerRun struct {
	fl     *Follower
	idx    *Index
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what Start returned, once done is closed
}

func startFollower(t *testing.T, path string, cps Checkpointer, logs *logLines) *followerRun {
	t.Helper()
	r := &followerRun{idx: NewIndex(1000, 10, nil), done: make(chan struct{})}
	opened := make(chan struct{})
	r.fl = &Follower{Path: path, Intake: &Intake{Index: r.idx}, Poll: 5 * time.Millisecond, Checkpoints: cps, opened: opened}
	ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), logs.logger()))
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.err = r.fl.Start(ctx)
	}()
	t.Cleanup(r.stopOnly)
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower opened no file")
	}
	return r
}

func (r *followerRun) stopOnly() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// stop stops the follower and saves its checkpoint, as the usage store's last flush does.
func (r *followerRun) stop(t *testing.T) {
	t.Helper()
	r.stopOnly()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if cp := r.fl.position(); cp != nil {
		if err := r.fl.save(context.Background(), cp); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *followerRun) seen() []string {
	var out []string
	for _, w := range r.idx.History(drift.ObjectRef{Kind: "Role", Namespace: "n", Name: "r"}) {
		out = append(out, w.AuditID)
	}
	slices.Sort(out)
	return out
}

// expect waits until the run has filed want, then checks it filed nothing else: the
// file is read in order, so a line read twice or out of place is in by then.
func (r *followerRun) expect(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.seen()
		if len(got) >= len(want) || time.Now().After(deadline) {
			if !slices.Equal(got, want) {
				t.Fatalf("filed %v, want %v", got, want)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowerResumes stops a follower, writes while it is stopped, and checks the next
// one files exactly the lines it had not filed: a line cut in two at the stop included.
func TestFollowerResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	appendEvents(t, path, "old")
	cps, logs := &memCheckpoints{}, &logLines{}

	a := startFollower(t, path, cps, logs)
	if !logs.has("No audit log checkpoint yet") {
		t.Error("the first start did not say it had no checkpoint")
	}
	appendEvents(t, path, ids("a", 1, 5)...)
	a.expect(t, ids("a", 1, 5))
	b, _ := json.Marshal(event("b01", "alice", "update", rbacGroup, "roles", "n", "r", t0))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b[:30]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the first half is read before the stop
	a.stop(t)

	if _, err := f.Write(append(b[30:], '\n')); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	appendEvents(t, path, ids("b", 2, 4)...)
	b2 := startFollower(t, path, cps, logs)
	if !logs.has("Resuming the audit log from its checkpoint") {
		t.Error("the second start did not say it resumed")
	}
	appendEvents(t, path, ids("b", 5, 6)...)
	b2.expect(t, ids("b", 1, 6))

	// Stopped again without a newer checkpoint (a crash before the next flush): the
	// lines since the saved one are filed again, and no others.
	b2.stopOnly()
	c := startFollower(t, path, cps, logs)
	c.expect(t, ids("b", 1, 6))
}

// TestFollowerResumesAcrossRotation rotates the log twice while the follower is
// stopped: the next one finishes the checkpointed file, reads the file rotated after
// it, then the current one, and nothing older or unrelated.
func TestFollowerResumesAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	appendEvents(t, filepath.Join(dir, "audit-2026-11-26T17-00-00.000.log"), "older")
	appendEvents(t, filepath.Join(dir, "audit-policy.log"), "unrelated")
	appendEvents(t, path, "old")
	cps, logs := &memCheckpoints{}, &logLines{}
	a := startFollower(t, path, cps, logs)
	appendEvents(t, path, ids("a", 1, 3)...)
	a.expect(t, ids("a", 1, 3))
	a.stop(t)

	appendEvents(t, path, ids("b", 1, 2)...)
	if err := os.Rename(path, filepath.Join(dir, "audit-2026-11-26T18-00-00.000.log")); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, path, ids("b", 3, 4)...)
	if err := os.Rename(path, filepath.Join(dir, "audit-2026-11-26T19-00-00.000.log")); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, path, ids("b", 5, 6)...)

	b := startFollower(t, path, cps, logs)
	if !logs.has(`"file"="` + filepath.Join(dir, "audit-2026-11-26T18-00-00.000.log")) {
		t.Errorf("the follower did not resume from the rotated file: %v", logs.lines)
	}
	appendEvents(t, path, "b07")
	b.expect(t, ids("b", 1, 7))
	b.stop(t)
	if cp := cps.get(t); cp.Path != path || cp.Offset == 0 {
		t.Errorf("checkpoint %+v is not on %s", cp, path)
	}
}

// TestFollowerCheckpointFallback checks that a checkpoint that no longer fits the file
// is not used: the follower starts at the end, as without one, and says why.
func TestFollowerCheckpointFallback(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(t *testing.T, path string, cps *memCheckpoints)
		log    string
	}{
		"truncated": {
			change: func(t *testing.T, path string, _ *memCheckpoints) {
				if err := os.Truncate(path, 0); err != nil {
					t.Fatal(err)
				}
				appendEvents(t, path, "x01")
			},
			log: "shorter than the checkpoint offset",
		},
		"truncated and refilled": {
			change: func(t *testing.T, path string, _ *memCheckpoints) {
				if err := os.Truncate(path, 0); err != nil {
					t.Fatal(err)
				}
				appendEvents(t, path, ids("x", 1, 9)...)
			},
			log: "are not the checkpointed ones",
		},
		"replaced": {
			change: func(t *testing.T, path string, _ *memCheckpoints) {
				appendEvents(t, path+".new", ids("x", 1, 9)...)
				if err := os.Rename(path+".new", path); err != nil {
					t.Fatal(err)
				}
			},
			log: "nor a file rotated from it is the checkpointed file",
		},
		"another path": {
			change: func(t *testing.T, path string, cps *memCheckpoints) {
				cp := cps.get(t)
				cp.Path = path + ".other"
				_ = cps.Save(context.Background(), cp.encode())
			},
			log: "the checkpoint is for --audit-log-path",
		},
		"corrupt": {
			change: func(_ *testing.T, _ string, cps *memCheckpoints) {
				_ = cps.Save(context.Background(), []byte(`{"path":"/var/log/audit.log","offset":-3}`))
			},
			log: `"msg"="Ignoring the unreadable audit log checkpoint; following the log from its end, the next checkpoint replaces it" "error"="checkpoint offset -3 is negative"`,
		},
		"not JSON": {
			change: func(_ *testing.T, _ string, cps *memCheckpoints) {
				_ = cps.Save(context.Background(), []byte(`offset=12`))
			},
			log: `"error"="checkpoint is not a JSON object`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			appendEvents(t, path, "old")
			cps, logs := &memCheckpoints{}, &logLines{}
			a := startFollower(t, path, cps, logs)
			appendEvents(t, path, ids("a", 1, 5)...)
			a.expect(t, ids("a", 1, 5))
			a.stop(t)

			tc.change(t, path, cps)
			b := startFollower(t, path, cps, logs)
			if !logs.has(tc.log) {
				t.Errorf("no log line says %q:\n%s", tc.log, strings.Join(logs.lines, "\n"))
			}
			appendEvents(t, path, "y01")
			b.expect(t, []string{"y01"})
			b.stop(t)
			if cp := cps.get(t); cp.Path != path || cp.Offset == 0 {
				t.Errorf("the checkpoint %+v was not replaced", cp)
			}
		})
	}
}
