package audit

import (
	"context"
	"sync"
	"testing"
)

// memCheckpoints keeps a checkpoint in memory, as ConfigMapCheckpoints does in the cluster.
type memCheckpoints struct {
	mu    sync.Mutex
	data  []byte
	found bool
	saves int
}

func (m *memCheckpoints) Load(context.Context) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data, m.found, nil
}

func (m *memCheckpoints) Save(_ context.Context, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data, m.found = data, true
	m.saves++
	return nil
}

func (m *memCheckpoints) String() string { return "memory" }

func (m *memCheckpoints) get(t *testing.T) *Checkpoint {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, err := decodeCheckpoint(m.data)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add((&Checkpoint{Path: "/var/log/kubernetes/audit.log", File: "2049:1311", Offset: 4096,
		Fingerprint: "0123456789abcdef0123456789abcdef"}).encode())
	f.Add([]byte(`{"path":"/var/log/audit.log","offset":0}`))
	f.Add([]byte(`{"path":"/var/log/audit.log","offset":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		back, err := decodeCheckpoint(cp.encode())
		if err != nil || *back != *cp {
			t.Fatalf("%q decoded to %+v, which encodes to %q and decodes to %+v, %v", data, cp, cp.encode(), back, err)
		}
	})
}
