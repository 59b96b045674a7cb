package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// TestFollowerRotation writes events, rotates the log by rename and by truncation,
// and checks that every event is filed exactly once and malformed lines are counted.
func TestFollowerRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	var mu sync.Mutex
	seen := map[string]int{}
	idx := NewIndex(1000, 10, func(drift.ObjectRef) {})
	in := &Intake{Index: idx}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		seen = map[string]int{}
		for _, w := range idx.History(drift.ObjectRef{Kind: "Role", Namespace: "n", Name: "r"}) {
			seen[w.AuditID]++
		}
		return len(seen)
	}
	n := 0
	appendEvents := func(f *os.File, k int) {
		for range k {
			n++
			b, _ := json.Marshal(event(fmt.Sprint(n), "alice", "update", rbacGroup, "roles", "n", "r", t0.Add(time.Duration(n)*time.Second)))
			if _, err := f.Write(append(b, '\n')); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for count() != want {
			if time.Now().After(deadline) {
				t.Fatalf("saw %d events, want %d", count(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(f, 3) // before the follower starts: skipped, it starts at the end
	opened := make(chan struct{})
	fl := &Follower{Path: path, Intake: in, Poll: 10 * time.Millisecond, opened: opened}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- fl.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-opened
	malformed := testutil.ToFloat64(eventsDropped.WithLabelValues(DropMalformedLine))
	appendEvents(f, 5)
	if _, err := f.WriteString("{not json\n"); err != nil {
		t.Fatal(err)
	}
	// A line written in two pieces is read once complete.
	b, _ := json.Marshal(event("split", "alice", "update", rbacGroup, "roles", "n", "r", t0.Add(time.Hour)))
	_, _ = f.Write(b[:20])
	time.Sleep(30 * time.Millisecond)
	_, _ = f.Write(append(b[20:], '\n'))
	eventually(6)

	// Rotation by rename: lines written to the old file after the rename are still
	// drained, then the new file is read from its start.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendEvents(f, 2)
	g, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(g, 4)
	eventually(12)
	_ = f.Close()

	// Truncation (copytruncate): read again from the top.
	if err := g.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let it see the shrink before refilling
	appendEvents(g, 2)
	eventually(14)
	_ = g.Close()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s filed %d times", id, c)
		}
	}
	if got := testutil.ToFloat64(eventsDropped.WithLabelValues(DropMalformedLine)) - malformed; got != 1 {
		t.Errorf("malformed lines counted %v, want 1", got)
	}
}

// TestFollowerStartsMidLine: started at the end of a log whose last line is still being
// written, the follower skips that line's rest instead of counting it malformed.
func TestFollowerStartsMidLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	appendEvents(t, path, "old")
	line, _ := json.Marshal(event("cut", "alice", "update", rbacGroup, "roles", "n", "r", t0))
	half := len(line) / 2
	appendRaw(t, path, line[:half])
	malformed := testutil.ToFloat64(eventsDropped.WithLabelValues(DropMalformedLine))

	run := startFollower(t, path, &memCheckpoints{}, &logLines{})
	appendRaw(t, path, append(line[half:], '\n'))
	appendEvents(t, path, "a01")
	run.expect(t, []string{"a01"})
	if got := testutil.ToFloat64(eventsDropped.WithLabelValues(DropMalformedLine)) - malformed; got != 0 {
		t.Errorf("%v lines counted malformed, want 0", got)
	}
}

func appendRaw(t *testing.T, name string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
