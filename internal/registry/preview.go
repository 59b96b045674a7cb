package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Verdict is what a proposed change would do to one baseline.
type Verdict struct {
	Baseline string
	// Mode is Audit or Enforce.
	Mode v1alpha1.Mode
	// Unmanaged is the baseline's policy for undeclared objects.
	Unmanaged v1alpha1.UnmanagedPolicy
	// Findings are those the change would introduce, most severe first.
	Findings []drift.Finding
}

// Preview returns, for every loaded baseline, the findings a create or update of obj
// (or its deletion, when deleted is true) would introduce, evaluated by the same
// incremental evaluators the controllers read. Only baselines with new findings are
// returned, sorted by name. It changes nothing; a baseline not loaded yet (just after
// start) is not consulted.
//
// Every baseline is asked, not only those whose scope covers obj: a role out of a
// baseline's scope still counts towards the ceilings of in-scope bindings that grant
// it. Preview costs each baseline one change and its undo.
func (r *Registry) Preview(obj client.Object, deleted bool) []Verdict {
	if _, ok := drift.RefOf(obj); !ok {
		return nil
	}
	buf := verdictBuffers.Get().(*[]Verdict)
	found := r.preview(obj, deleted, (*buf)[:0])
	out := slices.Clone(found)
	clear(found)
	*buf = found[:0]
	verdictBuffers.Put(buf)
	slices.SortFunc(out, func(a, b Verdict) int { return strings.Compare(a.Baseline, b.Baseline) })
	return out
}

// preview appends to found the verdict of every baseline with new findings. The locks
// are released by defer, so that a panic the webhook recovers from leaves none held.
func (r *Registry) preview(obj client.Object, deleted bool, found []Verdict) []Verdict {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for name, e := range r.entries {
		if e.eval == nil {
			continue
		}
		fs, err := e.preview(obj, deleted)
		if err == nil && len(fs) > 0 {
			spec := &e.Baseline.Spec
			found = append(found, Verdict{Baseline: name, Mode: spec.EffectiveMode(), Unmanaged: spec.Unmanaged, Findings: fs})
		}
	}
	return found
}

func (e *Entry) preview(obj client.Object, deleted bool) ([]drift.Finding, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.eval.Preview(obj, deleted)
}

// verdictBuffers collect Preview's verdicts, so that a change concerning many
// baselines allocates its answer once.
var verdictBuffers = sync.Pool{New: func() any { return new([]Verdict) }}

// Offline returns a registry loaded from snap for the given baselines, without a
// manager or an API server: for judging changes against a recorded cluster
// (benchmarks, tools). It is not fed: later changes reach it only through Apply.
func Offline(baselines []v1alpha1.RoleBaseline, snap *drift.Snapshot) (*Registry, error) {
	r := New(nil)
	for i := range baselines {
		rb := &baselines[i]
		if e := r.Load(rb, func() (*drift.Snapshot, error) { return snap, nil }, time.Now()); e.Err != nil {
			return nil, fmt.Errorf("RoleBaseline %s: %w", rb.Name, e.Err)
		}
	}
	return r, nil
}
