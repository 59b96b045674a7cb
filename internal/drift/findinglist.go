package drift

import (
	"slices"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// findingList is every finding of an Evaluator in CompareFindings order, with their
// counts by type and a log of what entered and left since the caller last asked. It
// points into findings its owner keeps (the entries' and the Missing ones): a change
// is staged by replace and applied by flush, so one object's changes land together.
type findingList struct {
	sorted     []*Finding // points into the owner's entries and Missing findings
	pendingDel []*Finding // findings leaving sorted at the next flush
	pendingAdd []*Finding // findings entering sorted at the next flush
	counts     v1alpha1.FindingCounts
	changed    bool // something was replaced since changed was last cleared
	// logAdded and logRemoved hold the findings that entered and left since the last
	// changes; logFull says the log overflowed (or reset ran) and the caller must
	// start afresh.
	logAdded, logRemoved []Finding
	logFull              bool
}

// reset makes all, sorted here, the whole list, and marks the log full.
func (l *findingList) reset(all []*Finding) {
	sortFindings(all)
	l.sorted = all
	l.pendingDel, l.pendingAdd = nil, nil
	l.counts = v1alpha1.FindingCounts{}
	for i := 0; i < len(all); { // sorted, so each type comes in runs
		j := i + 1
		for j < len(all) && all[j].Type == all[i].Type {
			j++
		}
		addCount(&l.counts, all[i].Type, int32(j-i))
		i = j
	}
	l.changed = false
	l.logAdded, l.logRemoved, l.logFull = nil, nil, true
}

// changes returns the log and empties it (Evaluator.Changes).
func (l *findingList) changes() (added, removed []Finding, full bool) {
	added, removed, full = l.logAdded, l.logRemoved, l.logFull
	l.logAdded, l.logRemoved, l.logFull = nil, nil, false
	return added, removed, full
}

// logMark is a position in the log, for rewind.
type logMark struct {
	added, removed int
	full           bool
}

func (l *findingList) mark() logMark { return logMark{len(l.logAdded), len(l.logRemoved), l.logFull} }

// rewind drops what the log gained since m: a change and its undo are no change.
func (l *findingList) rewind(m logMark) {
	if m.full || l.logFull {
		return
	}
	clear(l.logAdded[m.added:])
	clear(l.logRemoved[m.removed:])
	l.logAdded, l.logRemoved = l.logAdded[:m.added], l.logRemoved[:m.removed]
}

// replace records that old findings give way to new ones; flush applies the changes
// of one Upsert or Delete to the sorted list together. The list will point into new,
// which the caller keeps, and currently points into old.
func (l *findingList) replace(old, new []Finding) {
	if len(old) == 0 && len(new) == 0 {
		return
	}
	l.changed = true
	for i := range old {
		l.pendingDel = append(l.pendingDel, &old[i])
	}
	for i := range new {
		l.pendingAdd = append(l.pendingAdd, &new[i])
	}
	if l.logFull {
		return
	}
	if len(l.logAdded)+len(l.logRemoved) > 2*len(l.sorted)+1024 {
		// Nobody drained the log for a long while: a fresh start is cheaper.
		l.logAdded, l.logRemoved, l.logFull = nil, nil, true
		return
	}
	l.logRemoved = append(l.logRemoved, old...)
	l.logAdded = append(l.logAdded, new...)
}

// flush applies pending changes: a few by binary search, many (a role granted by
// many bindings, a namespace changing selection) by one merge pass.
func (l *findingList) flush() {
	if len(l.pendingDel) > 0 && len(l.pendingAdd) > 0 {
		l.netPending()
	}
	del, add := l.pendingDel, l.pendingAdd
	l.pendingDel, l.pendingAdd = del[:0], add[:0]
	for _, f := range del {
		addCount(&l.counts, f.Type, -1)
	}
	for _, f := range add {
		addCount(&l.counts, f.Type, 1)
	}
	if len(del)+len(add) <= 16 {
		for _, f := range del {
			pos, _ := slices.BinarySearchFunc(l.sorted, f, CompareFindings)
			for i := pos; i < len(l.sorted) && CompareFindings(l.sorted[i], f) == 0; i++ {
				if l.sorted[i] == f {
					l.sorted = slices.Delete(l.sorted, i, i+1)
					break
				}
			}
		}
		for _, f := range add {
			pos, _ := slices.BinarySearchFunc(l.sorted, f, CompareFindings)
			l.sorted = slices.Insert(l.sorted, pos, f)
		}
		return
	}
	gone := make(map[*Finding]bool, len(del))
	for _, f := range del {
		gone[f] = true
	}
	slices.SortFunc(add, CompareFindings)
	out := make([]*Finding, 0, len(l.sorted)-len(del)+len(add))
	i := 0
	for _, f := range l.sorted {
		if gone[f] {
			continue
		}
		for i < len(add) && CompareFindings(add[i], f) < 0 {
			out = append(out, add[i])
			i++
		}
		out = append(out, f)
	}
	out = append(out, add[i:]...)
	l.sorted = out
	clear(del)
	clear(add)
}

// netPending drops the findings both staged to leave and to enter (by identity): one
// that left and came back (a Preview's undo) stays as it is, and one that entered and
// left again (an object re-checked twice in one change) never was in the list, where
// flush expects what leaves to be.
func (l *findingList) netPending() {
	if len(l.pendingDel)*len(l.pendingAdd) <= 256 {
		l.netSmall()
		return
	}
	n := make(map[*Finding]int, len(l.pendingAdd))
	for _, f := range l.pendingAdd {
		n[f]++
	}
	del := l.pendingDel[:0]
	for _, f := range l.pendingDel {
		if n[f] > 0 {
			n[f]--
			continue
		}
		del = append(del, f)
	}
	add := l.pendingAdd[:0]
	for _, f := range l.pendingAdd {
		if n[f] > 0 {
			n[f]--
			add = append(add, f)
		}
	}
	clear(l.pendingDel[len(del):])
	clear(l.pendingAdd[len(add):])
	l.pendingDel, l.pendingAdd = del, add
}

// netSmall is netPending by pairwise comparison, for the few findings of most changes.
func (l *findingList) netSmall() {
	del, add := l.pendingDel, l.pendingAdd
	for i := 0; i < len(del); i++ {
		if j := slices.Index(add, del[i]); j >= 0 {
			del = slices.Delete(del, i, i+1)
			add = slices.Delete(add, j, j+1)
			i--
		}
	}
	l.pendingDel, l.pendingAdd = del, add
}

// difference returns, as a multiset by value, the findings of add not in del, sorted.
// One change touches few findings, so sorting both sides and merging is cheap.
// It sorts add and del in place: their order means nothing to flush.
func difference(add, del []*Finding) []Finding {
	a, d := add, del
	if len(a) == 0 {
		return nil
	}
	slices.SortFunc(a, CompareFindings)
	slices.SortFunc(d, CompareFindings)
	// Two passes, so the result is allocated once and at its size.
	merge := func(keep func(*Finding)) {
		j := 0
		for _, f := range a {
			for j < len(d) && CompareFindings(d[j], f) < 0 {
				j++
			}
			if j < len(d) && CompareFindings(d[j], f) == 0 {
				j++
				continue
			}
			keep(f)
		}
	}
	n := 0
	merge(func(*Finding) { n++ })
	if n == 0 {
		return nil
	}
	out := make([]Finding, 0, n)
	merge(func(f *Finding) { out = append(out, *f) })
	return out
}

func deref(fs []*Finding) []Finding {
	out := make([]Finding, len(fs))
	for i, f := range fs {
		out[i] = *f
	}
	return out
}
