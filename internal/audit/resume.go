package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// rotatedTimeFormat is how kube-apiserver's log rotation (lumberjack) stamps a rotated
// file: audit.log becomes audit-2026-11-26T18-00-00.000.log, in UTC, so names sort
// by time.
const rotatedTimeFormat = "2006-01-02T15-04-05.000"

// resume is where a restart picks up: name at offset, then the files in then (rotated
// after it, oldest first) from their start, then the log path from its start.
type resume struct {
	name   string
	offset int64
	then   []string
}

// resumeFrom finds the checkpointed file: the file at path while it is still that
// file, else a file rotated from it in the same directory. why, when not empty, says
// why the checkpoint cannot be used.
func resumeFrom(cp *Checkpoint, path string) (r resume, why string) {
	if cp.Path != path {
		return r, fmt.Sprintf("the checkpoint is for --audit-log-path %s", cp.Path)
	}
	if info, err := os.Stat(path); err == nil {
		if same, why := isCheckpointed(cp, path, info); same {
			return resume{name: path, offset: cp.Offset}, why
		}
	}
	rotated, err := rotatedFiles(path)
	if err != nil {
		return r, "listing rotated files: " + err.Error()
	}
	for i, name := range rotated {
		info, err := os.Stat(name)
		if err != nil {
			continue // deleted by rotation meanwhile
		}
		if same, why := isCheckpointed(cp, name, info); same {
			return resume{name: name, offset: cp.Offset, then: rotated[i+1:]}, why
		}
	}
	return r, fmt.Sprintf("neither %s nor a file rotated from it is the checkpointed file %q: it was replaced, or rotated and then deleted or compressed",
		path, cp.File)
}

// isCheckpointed reports whether info is the checkpointed file and, when it is, why
// it no longer holds the checkpointed bytes. Without identities only the bytes tell.
func isCheckpointed(cp *Checkpoint, name string, info os.FileInfo) (same bool, why string) {
	if id := fileID(info); cp.File != "" && id != "" {
		if id != cp.File {
			return false, ""
		}
		return true, changed(cp, name, info)
	}
	return changed(cp, name, info) == "", ""
}

// changed says how name no longer holds the checkpointed bytes; "" when it does.
func changed(cp *Checkpoint, name string, info os.FileInfo) string {
	if info.Size() < cp.Offset {
		return fmt.Sprintf("%s is %d bytes, shorter than the checkpoint offset %d: it was truncated", name, info.Size(), cp.Offset)
	}
	f, err := os.Open(name)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = f.Close() }()
	fp, err := fingerprint(f, cp.Offset)
	switch {
	case err != nil:
		return fmt.Sprintf("reading %s: %v", name, err)
	case fp != cp.Fingerprint:
		return fmt.Sprintf("the bytes before offset %d of %s are not the checkpointed ones: it was truncated and written again, or replaced in place",
			cp.Offset, name)
	}
	return ""
}

// rotatedFiles lists the files rotated from path, oldest first. Compressed ones
// (audit-....log.gz) are not listed: they cannot be resumed.
func rotatedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ext) || len(n) < len(prefix)+len(ext) {
			continue
		}
		if _, err := time.Parse(rotatedTimeFormat, n[len(prefix):len(n)-len(ext)]); err == nil {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}
