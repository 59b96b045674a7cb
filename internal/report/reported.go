package report

import (
	"slices"
	"time"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// reportedSet is what a baseline's status and events have announced: each finding key
// with when it was first seen and how many current findings carry it. It is kept up
// to date from the evaluator's Changes, so a reconcile costs the change, not every
// finding in scope.
type reportedSet map[findingKey]*reportedFinding

type reportedFinding struct {
	first time.Time
	n     int
}

// firstSeen returns when a finding was first seen, if it is reported.
func (rs reportedSet) firstSeen(k findingKey) (time.Time, bool) {
	if rf := rs[k]; rf != nil {
		return rf.first, true
	}
	return time.Time{}, false
}

// rebuild replaces the set with all findings, keeping the first-seen times of prior
// (a zero time: reported, first seen unknown, now from now on). It returns the findings
// prior did not have, and the keys of prior that are gone.
func rebuild(prior map[findingKey]time.Time, all []drift.Finding, now time.Time) (reportedSet, []drift.Finding, []findingKey) {
	rs := make(reportedSet, len(all))
	var fresh []drift.Finding
	for i := range all {
		k := keyOfDrift(&all[i])
		if rf := rs[k]; rf != nil {
			rf.n++
			continue
		}
		t, seen := prior[k]
		if !seen {
			fresh = append(fresh, all[i])
		}
		if t.IsZero() {
			t = now
		}
		rs[k] = &reportedFinding{first: t, n: 1}
	}
	var resolved []findingKey
	for k := range prior {
		if rs[k] == nil {
			resolved = append(resolved, k)
		}
	}
	slices.SortFunc(resolved, compareKeys)
	return rs, fresh, resolved
}

// apply follows one batch of evaluator changes, netted per key: a finding recomputed
// with the same key (its rules changed, say), or added and taken back within the
// batch, is neither fresh nor resolved and keeps its first-seen time.
func (rs reportedSet) apply(added, removed []drift.Finding, now time.Time) ([]drift.Finding, []findingKey) {
	delta := make(map[findingKey]int, len(added)+len(removed))
	for i := range removed {
		delta[keyOfDrift(&removed[i])]--
	}
	for i := range added {
		delta[keyOfDrift(&added[i])]++
	}
	var fresh []drift.Finding
	var resolved []findingKey
	// Walk added (not the map) so a fresh key is reported with one of its findings.
	for i := range added {
		k := keyOfDrift(&added[i])
		d, pending := delta[k]
		if !pending {
			continue
		}
		delete(delta, k)
		if d == 0 {
			continue
		}
		if rf := rs[k]; rf != nil {
			rf.n += d
			if rf.n <= 0 {
				delete(rs, k)
				resolved = append(resolved, k)
			}
		} else if d > 0 {
			rs[k] = &reportedFinding{first: now, n: d}
			fresh = append(fresh, added[i])
		}
	}
	for k, d := range delta { // keys only removed
		if rf := rs[k]; rf != nil {
			rf.n += d
			if rf.n <= 0 {
				delete(rs, k)
				resolved = append(resolved, k)
			}
		}
	}
	slices.SortFunc(fresh, func(a, b drift.Finding) int { return drift.CompareFindings(&a, &b) })
	slices.SortFunc(resolved, compareKeys)
	return fresh, resolved
}

// times returns the first-seen times, for a rebuild after a reload.
func (rs reportedSet) times() map[findingKey]time.Time {
	out := make(map[findingKey]time.Time, len(rs))
	for k, rf := range rs {
		out[k] = rf.first
	}
	return out
}

// seedReported rebuilds, after a restart, which findings were already reported, from
// the status this operator wrote before. When the counts still match, everything was
// reported; otherwise only the listed findings were, with their firstSeen.
func seedReported(st *v1alpha1.RoleBaselineStatus, all []drift.Finding, counts v1alpha1.FindingCounts) map[findingKey]time.Time {
	listed := map[findingKey]time.Time{}
	for i := range st.Findings {
		f := &st.Findings[i]
		var t time.Time
		if f.FirstSeen != nil {
			t = f.FirstSeen.Time
		}
		listed[keyOf(f)] = t
	}
	if st.ObservedGeneration == 0 || st.Counts.Drifts != counts.Drifts || st.Counts.Violations != counts.Violations {
		return listed
	}
	out := make(map[findingKey]time.Time, len(all))
	for i := range all {
		k := keyOfDrift(&all[i])
		out[k] = listed[k] // zero when not listed: reported, first seen unknown
	}
	return out
}

func keyOfDrift(f *drift.Finding) findingKey {
	k := findingKey{typ: f.Type, guardrail: f.Guardrail, object: f.Object}
	if f.Subject != nil {
		k.subject = f.Subject.Kind + "/" + f.Subject.Namespace + "/" + f.Subject.Name
	}
	return k
}
