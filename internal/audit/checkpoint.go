package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Checkpoint is where the log follower stands: the file, by identity, the offset just
// past the last line it filed, and a fingerprint of the bytes before that offset. A
// restart resumes there only when a file with that identity still holds those bytes.
type Checkpoint struct {
	// Path is --audit-log-path when it was taken.
	Path string `json:"path"`
	// File is "device:inode" of the file being read (Path, or a file rotated from
	// it); empty where the platform has no such identity.
	File   string `json:"file,omitempty"`
	Offset int64  `json:"offset"`
	// Fingerprint is the first 16 bytes, in hex, of the SHA-256 of the up to
	// fingerprintBytes bytes before Offset; empty at offset 0.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Checkpointer keeps the log follower's checkpoint across restarts.
type Checkpointer interface {
	// Load returns the stored checkpoint; found is false when there is none.
	Load(ctx context.Context) (data []byte, found bool, err error)
	Save(ctx context.Context, data []byte) error
	// String says where the checkpoint is kept, for logs.
	String() string
}

const (
	// fingerprintBytes covers the last lines whole, audit IDs included (a line logged
	// at Metadata level is about 1 KiB), or the end of a longer one with its
	// microsecond timestamps: bytes no other file holds at that offset.
	fingerprintBytes = 4 << 10
	// maxCheckpointBytes bounds what is decoded: the stored form is editable by others.
	maxCheckpointBytes = 8 << 10
)

var (
	fingerprintRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	fileIDRE      = regexp.MustCompile(`^[0-9]{1,20}:[0-9]{1,20}$`)
)

// fingerprint of the bytes of r before offset.
func fingerprint(r io.ReaderAt, offset int64) (string, error) {
	n := min(offset, fingerprintBytes)
	if n <= 0 {
		return "", nil
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, offset-n); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:16]), nil
}

func (cp *Checkpoint) encode() []byte {
	b, _ := json.Marshal(cp) // strings and an integer: cannot fail
	return b
}

// decodeCheckpoint parses a stored checkpoint and rejects one that cannot describe a
// position in a file.
func decodeCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("checkpoint is %d bytes, more than %d", len(data), maxCheckpointBytes)
	}
	var cp Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("checkpoint is not a JSON object: %w", err)
	}
	switch {
	case cp.Path == "":
		return nil, errors.New("checkpoint has no path")
	case cp.Offset < 0:
		return nil, fmt.Errorf("checkpoint offset %d is negative", cp.Offset)
	case cp.Offset == 0 && cp.Fingerprint != "":
		return nil, errors.New("checkpoint has a fingerprint at offset 0, where there are no bytes to fingerprint")
	case cp.Offset > 0 && !fingerprintRE.MatchString(cp.Fingerprint):
		return nil, fmt.Errorf("checkpoint fingerprint %q is not 32 lowercase hex digits", cp.Fingerprint)
	case cp.File != "" && !fileIDRE.MatchString(cp.File):
		return nil, fmt.Errorf("checkpoint file %q is not device:inode", cp.File)
	}
	return &cp, nil
}
