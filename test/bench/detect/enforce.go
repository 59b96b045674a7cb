package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

// timedReverts makes opts.writes sequential tampering writes, round-robin over the
// declared Role of each scoped namespace: each adds a rule, and the operator (Enforce
// mode) puts the declared rules back in place. A write's latency is the arrival of the
// revert's Role event minus the arrival of the tampering write's Role event, both on
// the observer's one watch stream of that namespace's Roles. Each write waits for its
// revert before the next is sent. refs are the times from sending each tampering
// update to the arrival of its own watch event.
//
// Nothing is paced around the operator's fight detection: a Role tampered again and
// again is reverted every time (at most 5 times a second per object), as users see it.
func timedReverts(ctx context.Context, opts options, c client.Client, obs *observer, scoped []string,
	mgr *harness.Manager) (samples, refs []float64, st enforceStats, err error) {
	samples = make([]float64, 0, opts.writes)
	refs = make([]float64, 0, opts.writes)
	type roleTrack struct {
		uid     types.UID
		latest  *rbacv1.Role
		reverts []time.Time // arrivals of this Role's revert events
		checked int         // events checked for an access gap so far
	}
	roles := map[string]*roleTrack{}
	for i := range opts.writes {
		if err := ctx.Err(); err != nil {
			return nil, nil, st, err
		}
		ns := scoped[i%len(scoped)]
		key := ns + "/" + declaredName
		tr := roles[key]
		if tr == nil {
			role := &rbacv1.Role{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: declaredName}, role); err != nil {
				return nil, nil, st, err
			}
			tr = &roleTrack{uid: role.UID, latest: role, checked: obs.roleMark(key)}
			roles[key] = tr
		}

		role := tr.latest.DeepCopy()
		del := opts.drift == driftDelete || (opts.drift == driftMixed && i%2 == 1)
		from := obs.roleMark(key)
		sent := time.Now()
		if del {
			// A deleted Role is created again: a new UID is expected, not an access gap to count.
			if err := c.Delete(ctx, role); err != nil {
				return nil, nil, st, fmt.Errorf("write %d: deleting Role %s: %w", i, key, err)
			}
			st.deleted++
		} else {
			role.Rules = append(slices.Clone(declaredRules), addedRule)
			if err := c.Update(ctx, role); err != nil {
				return nil, nil, st, fmt.Errorf("write %d: tampering Role %s: %w", i, key, err)
			}
		}
		rv := role.ResourceVersion
		tamper, ti, err := obs.roleEventAt(ctx, opts.writeTimeout, key, from, "the tampering event of Role "+key+" (resourceVersion "+rv+")",
			func(e *roleEvent) bool {
				if del {
					return e.typ == watch.Deleted
				}
				return e.role.ResourceVersion == rv
			})
		if err != nil {
			return nil, nil, st, errorsJoin(fmt.Errorf("write %d: %w", i, err), mgr.Exited())
		}
		restored, ri, err := obs.roleEventAt(ctx, opts.writeTimeout, key, ti+1, "the revert of Role "+key+" (tampered at resourceVersion "+rv+")",
			func(e *roleEvent) bool {
				return e.typ != watch.Deleted && equality.Semantic.DeepEqual(e.role.Rules, declaredRules)
			})
		if err != nil {
			return nil, nil, st, errorsJoin(fmt.Errorf("write %d: %w", i, err), mgr.Exited())
		}
		st.between += ri - ti - 1
		if del {
			tr.uid, tr.checked = restored.role.UID, ri+1
		}
		for _, e := range obs.roleEvents(key, tr.checked, ri+1) {
			if e.typ == watch.Deleted {
				st.deletes++
			}
			if e.role.UID != tr.uid {
				st.uidChanges++
			}
		}
		tr.checked = ri + 1
		tr.latest = restored.role
		tr.reverts = append(tr.reverts, restored.at)

		d := restored.at.Sub(tamper.at)
		samples = append(samples, float64(d.Microseconds())/1000)
		refs = append(refs, float64(tamper.at.Sub(sent).Microseconds())/1000)
		if opts.verbose {
			progress("  write %d (%s): reverted in %.1f ms (tamper rv %s at %s, revert rv %s at %s, %s)", i, key,
				float64(d.Microseconds())/1000, rv, tamper.at.Format("15:04:05.000000"),
				restored.role.ResourceVersion, restored.at.Format("15:04:05.000000"), restored.typ)
		}
		if (i+1)%50 == 0 {
			progress("  %d writes done", i+1)
		}
		if opts.pause > 0 {
			select {
			case <-time.After(opts.pause):
			case <-ctx.Done():
				return nil, nil, st, ctx.Err()
			}
		}
	}
	return samples, refs, st, nil
}
