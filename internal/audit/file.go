package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	ctrl "sigs.k8s.io/controller-runtime"
)

// DefaultMaxLine bounds one line of the audit log; longer lines are skipped and counted.
const DefaultMaxLine = 1 << 20

// Follower follows the API server's JSON-lines audit log (--audit-log-path) like
// tail -F: across rotation by rename (it drains the old file, then reads the new one
// from its start) and truncation (it starts again from the top). It starts where its
// checkpoint says when that still fits the file (resume.go), else at the end of the
// file. Rotation is detected by polling, so a file truncated and refilled past the
// old offset within one poll interval is read from that offset.
type Follower struct {
	Path   string
	Intake *Intake
	// Poll is how often the file is checked at its end; 250ms when zero.
	Poll time.Duration
	// FromStart reads an existing file from its beginning instead of its end when
	// there is no usable checkpoint.
	FromStart bool
	// MaxLine bounds a line; DefaultMaxLine when zero.
	MaxLine int
	// Checkpoints, when set, keeps the checkpoint. The usage Store saves it, right
	// after the usage of the lines before it.
	Checkpoints Checkpointer

	f       *os.File
	info    os.FileInfo
	offset  int64
	done    int64 // just past the last complete line: where a restart would resume
	pending []byte
	skip    bool          // discarding the rest of an overlong line
	next    []string      // rotated files left to read, oldest first, before Path
	opened  chan struct{} // tests: closed when the file is first opened

	mu    sync.Mutex
	mark  *Checkpoint // after the last read; replaced, never changed
	saved *Checkpoint
}

// Start follows the file until ctx is done.
func (fl *Follower) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("audit-log").WithValues("path", fl.Path)
	if fl.Poll <= 0 {
		fl.Poll = 250 * time.Millisecond
	}
	if fl.MaxLine <= 0 {
		fl.MaxLine = DefaultMaxLine
	}
	defer func() {
		if fl.f != nil {
			_ = fl.f.Close()
		}
	}()
	cp, ok := fl.loadCheckpoint(ctx, log)
	if !ok {
		return nil
	}
	first := true
	buf := make([]byte, 256<<10)
	for {
		if fl.f == nil {
			var err error
			switch {
			case first && cp != nil:
				err = fl.resume(cp, log)
			case first:
				err = fl.open(fl.Path, fl.FromStart)
			default:
				err = fl.openNext()
			}
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					log.Error(err, "Opening the audit log")
				}
			} else {
				log.Info("Following the audit log", "file", fl.f.Name(), "offset", fl.offset)
				if fl.opened != nil {
					close(fl.opened)
					fl.opened = nil
				}
			}
			first = false
		}
		if fl.f != nil {
			if err := fl.drain(ctx, buf); err != nil {
				log.Error(err, "Reading the audit log")
			}
			fl.checkRotation(ctx, buf, log.V(1).Info)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(fl.Poll):
		}
	}
}

// loadCheckpoint reads the stored checkpoint, retrying while the store cannot be
// read: lines written meanwhile are still in the file. It returns nil when there is
// none or it is unreadable, and false when ctx ended first.
func (fl *Follower) loadCheckpoint(ctx context.Context, log logr.Logger) (*Checkpoint, bool) {
	if fl.Checkpoints == nil {
		return nil, true
	}
	for {
		data, found, err := fl.Checkpoints.Load(ctx)
		if err == nil && !found {
			log.Info("No audit log checkpoint yet; following the log from "+fl.fallbackStart(), "checkpoint", fl.Checkpoints.String())
			return nil, true
		}
		if err == nil {
			cp, err := decodeCheckpoint(data)
			if err != nil {
				log.Error(err, "Ignoring the unreadable audit log checkpoint; following the log from "+fl.fallbackStart()+", the next checkpoint replaces it",
					"checkpoint", fl.Checkpoints.String())
				return nil, true
			}
			return cp, true
		}
		log.Error(err, "Reading the audit log checkpoint; retrying", "checkpoint", fl.Checkpoints.String())
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(5 * time.Second):
		}
	}
}

// resume opens the checkpointed file at its offset or, when it cannot, says why and
// opens the log as without a checkpoint.
func (fl *Follower) resume(cp *Checkpoint, log logr.Logger) error {
	r, why := resumeFrom(cp, fl.Path)
	if why == "" {
		if err := fl.openAt(r.name, r.offset); err != nil {
			why = err.Error()
		}
	}
	if why != "" {
		log.Info("Not resuming from the audit log checkpoint; following the log from "+fl.fallbackStart(),
			"reason", why, "checkpoint", fl.Checkpoints.String(), "file", cp.File, "offset", cp.Offset)
		return fl.open(fl.Path, fl.FromStart)
	}
	fl.next = r.then
	fl.mu.Lock()
	fl.saved = cp
	fl.mu.Unlock()
	log.Info("Resuming the audit log from its checkpoint", "file", r.name, "offset", r.offset, "rotatedFilesAfter", len(r.then))
	return nil
}

// fallbackStart is where the log is read from without a usable checkpoint, for logs.
func (fl *Follower) fallbackStart() string {
	if fl.FromStart {
		return "its start"
	}
	return "its end"
}

// open opens name from its start or its end.
func (fl *Follower) open(name string, fromStart bool) error {
	if fromStart {
		return fl.openAt(name, 0)
	}
	return fl.openAt(name, -1)
}

// openAt opens name at offset; at its end when offset is negative.
func (fl *Follower) openAt(name string, offset int64) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	midLine := false
	if err == nil && offset < 0 {
		offset = info.Size()
		// Starting at the end of a line being written: its rest is no line of its own.
		midLine = offset > 0 && !endsLine(f, offset)
	}
	if err == nil {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return err
	}
	fl.f, fl.info, fl.offset, fl.done, fl.pending, fl.skip = f, info, offset, offset, fl.pending[:0], midLine
	fl.remember()
	return nil
}

// endsLine reports whether the byte before offset is a newline.
func endsLine(f *os.File, offset int64) bool {
	b := make([]byte, 1)
	_, err := f.ReadAt(b, offset-1)
	return err != nil || b[0] == '\n'
}

// openNext opens the next rotated file left to read, or else Path, from its start.
func (fl *Follower) openNext() error {
	for len(fl.next) > 0 {
		name := fl.next[0]
		fl.next = fl.next[1:]
		if err := fl.openAt(name, 0); err == nil {
			return nil
		} // else deleted by rotation meanwhile: its lines are gone
	}
	return fl.openAt(fl.Path, 0)
}

// drain reads the open file to its end, filing every complete line. It stops early
// when ctx is done, so the last checkpoint, saved meanwhile, is at most one read behind.
func (fl *Follower) drain(ctx context.Context, buf []byte) error {
	for ctx.Err() == nil {
		n, err := fl.f.Read(buf)
		fl.offset += int64(n)
		done := fl.done
		fl.lines(buf[:n])
		if fl.done != done {
			fl.remember()
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// lines splits data into lines, keeping an incomplete last line for the next read.
func (fl *Follower) lines(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !fl.skip {
				fl.pending = append(fl.pending, data...)
				if len(fl.pending) > fl.MaxLine {
					eventsDropped.WithLabelValues(DropLineTooLong).Inc()
					fl.pending, fl.skip = fl.pending[:0], true
				}
			}
			return
		}
		line := data[:i]
		data = data[i+1:]
		fl.done = fl.offset - int64(len(data)) // past this line, which is filed before anyone reads done
		if fl.skip {
			fl.skip = false
			continue
		}
		if len(fl.pending) > 0 {
			fl.pending = append(fl.pending, line...)
			line = fl.pending
		}
		if len(line) > fl.MaxLine {
			eventsDropped.WithLabelValues(DropLineTooLong).Inc()
		} else if len(bytes.TrimSpace(line)) > 0 {
			fl.process(line)
		}
		fl.pending = fl.pending[:0]
	}
}

func (fl *Follower) process(line []byte) {
	var ev auditv1.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		eventsDropped.WithLabelValues(DropMalformedLine).Inc()
		return
	}
	eventsReceived.WithLabelValues("file").Inc()
	fl.Intake.Process(&ev)
}

// checkRotation, at the end of the open file, moves on when the path names another
// file (renamed away; the old one is drained already) or rewinds when the file
// shrank below the offset (truncated).
func (fl *Follower) checkRotation(ctx context.Context, buf []byte, logf func(string, ...any)) {
	info, err := os.Stat(fl.Path)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		return // renamed away and not recreated yet: keep the old one open to drain
	case err != nil:
		return
	case !os.SameFile(info, fl.info):
		_ = fl.drain(ctx, buf)
		if ctx.Err() != nil {
			return // stopping: the rest is read after the restart
		}
		fl.closeDrained()
		if err := fl.openNext(); err == nil {
			logf("Audit log rotated; reading the next file", "file", fl.f.Name())
		}
	case info.Size() < fl.offset:
		logf("Audit log truncated; reading from the start")
		if _, err := fl.f.Seek(0, io.SeekStart); err == nil {
			fl.offset, fl.done, fl.pending, fl.skip = 0, 0, fl.pending[:0], false
			fl.remember()
		}
	}
}

// closeDrained closes a file read to its end that the writer has left.
func (fl *Follower) closeDrained() {
	if len(fl.pending) > 0 {
		// The writer moved on: the last line of the old file will never complete.
		eventsDropped.WithLabelValues(DropMalformedLine).Inc()
	}
	_ = fl.f.Close()
	fl.f = nil
}

// remember records the position after the last complete line as the next checkpoint.
func (fl *Follower) remember() {
	if fl.Checkpoints == nil {
		return
	}
	fp, err := fingerprint(fl.f, fl.done)
	if err != nil {
		return // keep the previous mark: resuming there only replays more
	}
	cp := &Checkpoint{Path: fl.Path, File: fileID(fl.info), Offset: fl.done, Fingerprint: fp}
	fl.mu.Lock()
	fl.mark = cp
	fl.mu.Unlock()
}

// position returns the checkpoint to save, nil when it is saved already.
func (fl *Follower) position() *Checkpoint {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.mark == nil || fl.saved != nil && *fl.mark == *fl.saved {
		return nil
	}
	return fl.mark
}

// save stores cp, a position returned earlier.
func (fl *Follower) save(ctx context.Context, cp *Checkpoint) error {
	if err := fl.Checkpoints.Save(ctx, cp.encode()); err != nil {
		return fmt.Errorf("saving the audit log checkpoint in %s: %w", fl.Checkpoints, err)
	}
	fl.mu.Lock()
	fl.saved = cp
	fl.mu.Unlock()
	return nil
}

// NeedLeaderElection: only the leader keeps usage and attribution.
func (fl *Follower) NeedLeaderElection() bool { return true }
