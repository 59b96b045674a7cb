package controllers

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

// BaselineVerdict is what a proposed change would do to one baseline.
type BaselineVerdict struct {
	Baseline string
	// Mode is Audit or Enforce.
	Mode v1alpha1.Mode
	// Unmanaged is the baseline's policy for undeclared objects.
	Unmanaged v1alpha1.UnmanagedPolicy
	// Findings are those the change would introduce, most severe first.
	Findings []drift.Finding
}

// Preview returns, for every loaded baseline the change concerns, the findings a
// create or update of obj (or its deletion, when deleted is true) would introduce,
// evaluated by the same incremental evaluators the controller keeps current. Only
// baselines with new findings are returned, sorted by name. It reads the controller's
// state and changes nothing; before the controller has loaded a baseline (just after
// start) that baseline is not consulted.
//
// Every baseline is asked, not only those whose scope covers obj: a role out of a
// baseline's scope still counts towards the ceilings of in-scope bindings that grant
// it. Preview costs each baseline one change and its undo.
func (r *RoleBaselineReconciler) Preview(obj client.Object, deleted bool) []BaselineVerdict {
	if r.hub == nil {
		return nil
	}
	if _, ok := drift.RefOf(obj); !ok {
		return nil
	}
	buf := verdictBuffers.Get().(*[]BaselineVerdict)
	found := r.hub.preview(obj, deleted, (*buf)[:0])
	out := slices.Clone(found)
	clear(found)
	*buf = found[:0]
	verdictBuffers.Put(buf)
	slices.SortFunc(out, func(a, b BaselineVerdict) int { return strings.Compare(a.Baseline, b.Baseline) })
	return out
}

// preview appends to found the verdict of every baseline with new findings. The locks
// are released by defer, so that a panic the webhook recovers from leaves none held.
func (h *hub) preview(obj client.Object, deleted bool, found []BaselineVerdict) []BaselineVerdict {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for name, st := range h.baselines {
		fs, spec, err := st.preview(obj, deleted)
		if err == nil && len(fs) > 0 {
			found = append(found, BaselineVerdict{Baseline: name, Mode: modeOf(spec), Unmanaged: spec.Unmanaged, Findings: fs})
		}
	}
	return found
}

func (st *baselineState) preview(obj client.Object, deleted bool) ([]drift.Finding, *v1alpha1.RoleBaselineSpec, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	fs, err := st.eval.Preview(obj, deleted)
	return fs, st.eval.Spec(), err
}

// verdictBuffers collect Preview's verdicts, so that a change concerning many
// baselines allocates its answer once.
var verdictBuffers = sync.Pool{New: func() any { return new([]BaselineVerdict) }}

// LoadForPreview returns a reconciler that only answers Preview, its evaluators loaded
// from snap for the given baselines, without a manager or an API server: for judging
// changes against an offline snapshot (benchmarks, tools).
func LoadForPreview(baselines []v1alpha1.RoleBaseline, snap *drift.Snapshot) (*RoleBaselineReconciler, error) {
	r := &RoleBaselineReconciler{Now: time.Now, hub: newHub(nil, nil)}
	for i := range baselines {
		rb := &baselines[i]
		eval, err := drift.NewEvaluator(&rb.Spec, nil)
		if err != nil {
			return nil, fmt.Errorf("RoleBaseline %s: %w", rb.Name, err)
		}
		if _, err := r.hub.load(rb, eval, func() (*drift.Snapshot, error) { return snap, nil }, r.Now()); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func modeOf(spec *v1alpha1.RoleBaselineSpec) v1alpha1.Mode {
	if spec.Mode == "" {
		return v1alpha1.ModeAudit
	}
	return spec.Mode
}
