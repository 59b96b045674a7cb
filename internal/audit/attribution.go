package audit

import (
	"container/list"
	"slices"
	"sync"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Index keeps the most recent RBAC writes per object: at most PerObject each, for at
// most MaxObjects objects, the least recently written forgotten first. It is safe for
// concurrent use.
type Index struct {
	perObject  int
	maxObjects int
	onWrite    func(drift.ObjectRef)

	mu   sync.Mutex
	objs map[drift.ObjectRef]*list.Element // of *objWrites
	lru  *list.List                        // front is the most recently written
}

type objWrites struct {
	ref    drift.ObjectRef
	writes []Write // oldest first, by time
}

// NewIndex makes an index. onWrite, if set, is called after each new write is
// recorded (outside the lock), so the controller can re-evaluate baselines whose
// findings are on that object when the audit event arrives after the watch event.
func NewIndex(perObject, maxObjects int, onWrite func(drift.ObjectRef)) *Index {
	return &Index{perObject: max(1, perObject), maxObjects: max(1, maxObjects), onWrite: onWrite,
		objs: map[drift.ObjectRef]*list.Element{}, lru: list.New()}
}

// Record adds a write. The same audit ID is recorded once, whichever intake saw it first.
func (x *Index) Record(w Write) {
	if !x.record(w) {
		return
	}
	if x.onWrite != nil {
		x.onWrite(w.Object)
	}
}

func (x *Index) record(w Write) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	el := x.objs[w.Object]
	if el == nil {
		el = x.lru.PushFront(&objWrites{ref: w.Object})
		x.objs[w.Object] = el
		for x.lru.Len() > x.maxObjects {
			old := x.lru.Back()
			delete(x.objs, old.Value.(*objWrites).ref)
			x.lru.Remove(old)
		}
	} else {
		x.lru.MoveToFront(el)
	}
	o := el.Value.(*objWrites)
	if w.AuditID != "" && slices.ContainsFunc(o.writes, func(e Write) bool { return e.AuditID == w.AuditID }) {
		return false
	}
	// Events may arrive out of order (two intakes, batching): keep time order.
	i, _ := slices.BinarySearchFunc(o.writes, w, func(a, b Write) int { return a.Time.Compare(b.Time) })
	for i < len(o.writes) && !o.writes[i].Time.After(w.Time) {
		i++
	}
	o.writes = slices.Insert(o.writes, i, w)
	if len(o.writes) > x.perObject {
		o.writes = slices.Delete(o.writes, 0, len(o.writes)-x.perObject)
	}
	return true
}

// History returns the writes kept for ref, oldest first.
func (x *Index) History(ref drift.ObjectRef) []Write {
	x.mu.Lock()
	defer x.mu.Unlock()
	if el := x.objs[ref]; el != nil {
		return slices.Clone(el.Value.(*objWrites).writes)
	}
	return nil
}

// Len returns how many objects the index holds writes for.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.objs)
}

// Attribute picks the write that left an object as it is now. resourceVersion is the
// live object's ("" when it does not exist). A write carrying the same resourceVersion
// is an exact match. Without one: a deleted object is attributed to its latest
// delete; a live object to its latest write only when writes carry no
// resourceVersion (a Metadata-level policy), since otherwise the matching event has
// simply not arrived yet and naming an earlier writer would blame the wrong person.
func (x *Index) Attribute(ref drift.ObjectRef, resourceVersion string) (Write, bool) {
	h := x.History(ref)
	if len(h) == 0 {
		return Write{}, false
	}
	if resourceVersion == "" {
		if last := h[len(h)-1]; last.Verb == "delete" {
			return last, true
		}
		return Write{}, false
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].ResourceVersion == resourceVersion {
			return h[i], true
		}
	}
	last := h[len(h)-1]
	if last.ResourceVersion == "" && last.Verb != "delete" {
		return last, true
	}
	return Write{}, false
}

// Who renders the acting user for a finding or an event: "alice", or
// "alice (impersonated by bob)".
func (w *Write) Who() string {
	if w.Impersonator != "" {
		return w.User + " (impersonated by " + w.Impersonator + ")"
	}
	return w.User
}
