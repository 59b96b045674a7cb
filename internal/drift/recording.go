package drift

// Preview recording: while a change is previewed, the findings each object had
// before it, for the undo to give back without checking the object again.

// recorder serves Preview: the findings each object had before the previewed change
// (while previewing), put back by its undo (while restoring) without checking the
// object again. A slice, reused: a change touches few objects.
type recorder struct {
	entries               []recordedFindings
	index                 map[ObjectRef]int // past recordScan entries (a role many bindings grant)
	previewing, restoring bool
}

type recordedFindings struct {
	ref      ObjectRef
	findings []Finding
}

// recordScan is how many recorded objects are searched one by one before an index.
const recordScan = 32

// recorded returns the findings Preview recorded for ref before its change.
func (r *recorder) recorded(ref ObjectRef) ([]Finding, bool) {
	if !r.previewing && !r.restoring {
		return nil, false
	}
	if r.index != nil {
		if i, ok := r.index[ref]; ok {
			return r.entries[i].findings, true
		}
		return nil, false
	}
	for i := range r.entries {
		if r.entries[i].ref == ref {
			return r.entries[i].findings, true
		}
	}
	return nil, false
}

// record keeps, while previewing, the findings the object at ref had before the
// change, for the undo to give back.
func (r *recorder) record(ref ObjectRef, old []Finding) {
	if !r.previewing {
		return
	}
	if _, seen := r.recorded(ref); seen {
		return
	}
	r.entries = append(r.entries, recordedFindings{ref, old})
	if len(r.entries) > recordScan {
		if r.index == nil {
			r.index = make(map[ObjectRef]int, 2*recordScan)
			for i := range r.entries {
				r.index[r.entries[i].ref] = i
			}
		}
		r.index[ref] = len(r.entries) - 1
	}
}
