// Package auditlog reads the API server's audit log files (--audit-log-path): JSON
// lines of audit.k8s.io/v1 events, rotated files included, gzipped or not, in
// parallel on every core, for the plugin's suggest and simulate.
package auditlog

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/manifest"
)

// Files expands paths to log files, oldest first: a directory's files (audit.log,
// audit.log.1, audit-2026-12-01T10-00-00.000.log.gz, ...) by modification time.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, &manifest.Error{Source: p, Msg: "cannot read the audit log: " + err.Error()}
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, &manifest.Error{Source: p, Msg: err.Error()}
		}
		type file struct {
			path string
			mod  int64
		}
		var files []file
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				files = append(files, file{filepath.Join(p, e.Name()), fi.ModTime().UnixNano()})
			}
		}
		slices.SortFunc(files, func(a, b file) int { return cmp.Or(cmp.Compare(a.mod, b.mod), cmp.Compare(a.path, b.path)) })
		for _, f := range files {
			out = append(out, f.path)
		}
	}
	return out, nil
}

// Read decodes every event of files and hands it to fn, from several goroutines at
// once (fn must be safe for that). A line that is not an audit event (truncated,
// not JSON, another kind) stops the read with an error naming the file and line;
// empty lines are skipped. progress, when set, is called with the bytes read so far.
func Read(files []string, fn func(*auditv1.Event), progress func(int64)) (events int, err error) {
	workers := runtime.GOMAXPROCS(0)
	type batch struct {
		source string
		first  int // line of lines[0]
		lines  [][]byte
	}
	batches := make(chan batch, 2*workers)
	var (
		mu       sync.Mutex
		firstErr *manifest.Error
		count    int
	)
	fail := func(e *manifest.Error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil || e.Source == firstErr.Source && e.Line < firstErr.Line {
			firstErr = e
		}
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			n := 0
			for b := range batches {
				for i, line := range b.lines {
					var ev auditv1.Event
					if err := json.Unmarshal(line, &ev); err != nil {
						fail(&manifest.Error{Source: b.source, Line: b.first + i, Msg: "not an audit event (truncated, or not JSON): " + err.Error()})
						continue
					}
					if ev.Kind != "Event" || ev.APIVersion != auditv1.SchemeGroupVersion.String() {
						fail(&manifest.Error{Source: b.source, Line: b.first + i, Msg: fmt.Sprintf("kind %q, apiVersion %q: want an audit.k8s.io/v1 Event", ev.Kind, ev.APIVersion)})
						continue
					}
					fn(&ev)
					n++
				}
			}
			mu.Lock()
			count += n
			mu.Unlock()
		})
	}
	var read int64
	readErr := func() error {
		for _, f := range files {
			if err := readFile(f, func(first int, lines [][]byte, size int64) {
				read += size
				if progress != nil {
					progress(read)
				}
				batches <- batch{source: f, first: first, lines: lines}
			}); err != nil {
				return err
			}
			if failed() {
				break // the workers found a bad line: the rest is not read
			}
		}
		return nil
	}()
	close(batches)
	wg.Wait()
	if readErr != nil {
		return count, readErr
	}
	if firstErr != nil {
		return count, firstErr
	}
	return count, nil
}

// batchLines is how many lines a worker decodes at once.
const batchLines = 512

// readFile hands out a file's non-empty lines in batches, with the line number of
// the first; a gzipped file (by its magic bytes) is decompressed.
func readFile(path string, emit func(first int, lines [][]byte, size int64)) error {
	f, err := os.Open(path)
	if err != nil {
		return &manifest.Error{Source: path, Msg: "cannot read the audit log: " + err.Error()}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return &manifest.Error{Source: path, Msg: "not gzip: " + err.Error()}
		}
		defer gz.Close()
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20) // a RequestResponse event may be large
	line, first := 0, 1
	var lines [][]byte
	var size int64
	for sc.Scan() {
		line++
		b := sc.Bytes()
		size += int64(len(b)) + 1
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if len(lines) > 0 && line != first+len(lines) {
			emit(first, lines, size) // a batch's lines are consecutive: lines[i] is line first+i
			lines, size = nil, 0
		}
		if len(lines) == 0 {
			first = line
		}
		lines = append(lines, bytes.Clone(b))
		if len(lines) == batchLines {
			emit(first, lines, size)
			lines, size = nil, 0
		}
	}
	if err := sc.Err(); err != nil {
		return &manifest.Error{Source: path, Line: line + 1, Msg: "reading: " + err.Error()}
	}
	if len(lines) > 0 {
		emit(first, lines, size)
	}
	return nil
}
