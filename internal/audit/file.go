package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	ctrl "sigs.k8s.io/controller-runtime"
)

// DefaultMaxLine bounds one line of the audit log; longer lines are skipped and counted.
const DefaultMaxLine = 1 << 20

// Follower follows the API server's JSON-lines audit log (--audit-log-path) like
// tail -F: from the end of the file when it starts, across rotation by rename (it
// drains the old file, then reads the new one from its start) and truncation (it
// starts again from the top). Rotation is detected by polling, so a file truncated
// and refilled past the old offset within one poll interval is read from that offset.
type Follower struct {
	Path   string
	Intake *Intake
	// Poll is how often the file is checked at its end; 250ms when zero.
	Poll time.Duration
	// FromStart reads an existing file from its beginning instead of its end.
	FromStart bool
	// MaxLine bounds a line; DefaultMaxLine when zero.
	MaxLine int

	f       *os.File
	info    os.FileInfo
	offset  int64
	pending []byte
	skip    bool          // discarding the rest of an overlong line
	opened  chan struct{} // tests: closed when the file is first opened
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
	first := true
	buf := make([]byte, 256<<10)
	for {
		if fl.f == nil {
			if err := fl.open(!first || fl.FromStart); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					log.Error(err, "Opening the audit log")
				}
			} else {
				log.Info("Following the audit log", "offset", fl.offset)
				if fl.opened != nil {
					close(fl.opened)
					fl.opened = nil
				}
			}
			first = false
		}
		if fl.f != nil {
			if err := fl.drain(buf); err != nil {
				log.Error(err, "Reading the audit log")
			}
			fl.checkRotation(log.V(1).Info)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(fl.Poll):
		}
	}
}

func (fl *Follower) open(fromStart bool) error {
	f, err := os.Open(fl.Path)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	fl.f, fl.info, fl.offset, fl.pending, fl.skip = f, info, 0, fl.pending[:0], false
	if !fromStart {
		fl.offset = info.Size()
		if _, err := f.Seek(fl.offset, io.SeekStart); err != nil {
			return err
		}
	}
	return nil
}

// drain reads the open file to its end, filing every complete line.
func (fl *Follower) drain(buf []byte) error {
	for {
		n, err := fl.f.Read(buf)
		fl.offset += int64(n)
		fl.lines(buf[:n])
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
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

// checkRotation, at the end of the open file, reopens the path when it names
// another file (renamed away; the old one is drained already) or rewinds when the
// file shrank below the offset (truncated).
func (fl *Follower) checkRotation(logf func(string, ...any)) {
	info, err := os.Stat(fl.Path)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		return // renamed away and not recreated yet: keep the old one open to drain
	case err != nil:
		return
	case !os.SameFile(info, fl.info):
		fl.drainAndClose()
		logf("Audit log rotated; reading the new file")
		if err := fl.open(true); err != nil {
			fl.f = nil
		}
	case info.Size() < fl.offset:
		logf("Audit log truncated; reading from the start")
		if _, err := fl.f.Seek(0, io.SeekStart); err == nil {
			fl.offset, fl.pending, fl.skip = 0, fl.pending[:0], false
		}
	}
}

func (fl *Follower) drainAndClose() {
	buf := make([]byte, 64<<10)
	_ = fl.drain(buf)
	if len(fl.pending) > 0 {
		// The writer moved on: the last line of the old file will never complete.
		eventsDropped.WithLabelValues(DropMalformedLine).Inc()
	}
	_ = fl.f.Close()
	fl.f = nil
}

// NeedLeaderElection: only the leader keeps usage and attribution.
func (fl *Follower) NeedLeaderElection() bool { return true }
