package report

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// maxAttributedEvents bounds ChangeAttributed events per reconcile.
const maxAttributedEvents = 10

// AuditSources connects the audit intake to the controller: the attribution index
// names who changed the objects of findings, and usage data feeds UnusedPermission
// findings. Either may be absent (nil Usage: no usage findings).
type AuditSources struct {
	Index *audit.Index
	Usage *audit.Aggregator
	// UsageLoaded is closed once stored usage is loaded; usage is withheld before,
	// so a restart does not briefly report everything unused.
	UsageLoaded <-chan struct{}
	// UsageRefresh is the least time between two applications of new usage data to
	// the baselines (30s when zero): usage changes often and matters slowly.
	UsageRefresh time.Duration

	mu    sync.Mutex
	queue workqueue.TypedRateLimitingInterface[reconcile.Request]
	// onObject lists, per object with a finding in some status, those baselines.
	onObject   map[drift.ObjectRef]map[string]bool
	byBaseline map[string][]drift.ObjectRef
	// started is when the controller was set up; applied is closed once the first
	// usage data (loaded from the cluster) is applied.
	started     time.Time
	applied     chan struct{}
	appliedOnce sync.Once
}

// NewAuditSources makes the sources with an attribution index of perObject writes
// per object for at most maxObjects objects. usage may be nil.
func NewAuditSources(perObject, maxObjects int, usage *audit.Aggregator, usageLoaded <-chan struct{}) *AuditSources {
	a := &AuditSources{Usage: usage, UsageLoaded: usageLoaded,
		onObject: map[drift.ObjectRef]map[string]bool{}, byBaseline: map[string][]drift.ObjectRef{},
		applied: make(chan struct{})}
	a.Index = audit.NewIndex(perObject, maxObjects, a.written)
	return a
}

// written re-reconciles the baselines with a finding on ref: the audit event may
// arrive after the watch event, when the status was already written without a name.
func (a *AuditSources) written(ref drift.ObjectRef) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.queue == nil {
		return
	}
	for name := range a.onObject[ref] {
		a.queue.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
	}
}

// track remembers the objects a baseline's listed findings are on.
func (a *AuditSources) track(baseline string, findings []v1alpha1.Finding) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ref := range a.byBaseline[baseline] {
		if m := a.onObject[ref]; m != nil {
			delete(m, baseline)
			if len(m) == 0 {
				delete(a.onObject, ref)
			}
		}
	}
	refs := make([]drift.ObjectRef, 0, len(findings))
	for i := range findings {
		ref := drift.RefFromAPI(findings[i].Object)
		if a.onObject[ref] == nil {
			a.onObject[ref] = map[string]bool{}
		}
		a.onObject[ref][baseline] = true
		refs = append(refs, ref)
	}
	if len(refs) == 0 {
		delete(a.byBaseline, baseline)
	} else {
		a.byBaseline[baseline] = refs
	}
}

// Sources are what the status controller must watch and run for the audit sources:
// a source that hands its queue to the attribution index (an attribution arriving
// after the finding re-reconciles the baseline), and the usage loop (nil without
// usage data). Both are nil without audit sources.
func (r *Reporter) Sources() (source.Source, manager.Runnable) {
	a := r.Audit
	if a == nil {
		return nil, nil
	}
	src := source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.queue = q
		return nil
	})
	if a.Usage == nil {
		return src, nil
	}
	a.started = r.Now()
	return src, manager.RunnableFunc(r.usageLoop)
}

// whoChanged is the write that left the object at ref as the cache holds it, if the
// audit log told.
func (r *Reporter) whoChanged(ctx context.Context, ref drift.ObjectRef) *audit.Write {
	rv := ""
	if obj := r.cachedObject(ctx, ref); obj != nil {
		rv = obj.GetResourceVersion()
	}
	if w, ok := r.Audit.Index.Attribute(ref, rv); ok {
		return &w
	}
	return nil
}

// attribute fills changedBy and changedAt of the listed findings. When the index
// does not know (a restart, an evicted object, an event still in flight) it keeps
// what the previous status said. An attribution arriving for a finding already
// reported is announced with a ChangeAttributed event.
func (r *Reporter) attribute(ctx context.Context, rb *v1alpha1.RoleBaseline, prev []v1alpha1.Finding) {
	if r.Audit == nil {
		return
	}
	old := make(map[findingKey]*v1alpha1.Finding, len(prev))
	for i := range prev {
		old[keyOf(&prev[i])] = &prev[i]
	}
	known := map[drift.ObjectRef]*audit.Write{}
	announced := 0
	for i := range rb.Status.Findings {
		f := &rb.Status.Findings[i]
		ref := drift.RefFromAPI(f.Object)
		w, looked := known[ref]
		if !looked {
			w = r.whoChanged(ctx, ref)
			known[ref] = w
		}
		p := old[keyOf(f)]
		switch {
		case w != nil:
			f.ChangedBy = text.Truncate(w.Who(), 512)
			f.ChangedAt = &metav1.Time{Time: w.Time.Truncate(time.Second)}
		case p != nil:
			f.ChangedBy, f.ChangedAt = p.ChangedBy, p.ChangedAt
		}
		if p != nil && f.ChangedBy != "" && f.ChangedBy != p.ChangedBy && announced < maxAttributedEvents &&
			!f.Type.IsAdvisory() {
			announced++
			msg := fmt.Sprintf("%s on %s: changed by %s", f.Type, ref, attributionText(f))
			r.Recorder.Eventf(rb, nil, corev1.EventTypeNormal, v1alpha1.ReasonChangeAttributed, "Attribute", "%s", text.Note(msg))
			if obj := r.cachedObject(ctx, ref); obj != nil {
				r.Recorder.Eventf(obj, rb, corev1.EventTypeNormal, v1alpha1.ReasonChangeAttributed, "Attribute", "%s", text.Note("RoleBaseline "+rb.Name+": "+msg))
			}
		}
	}
	r.Audit.track(rb.Name, rb.Status.Findings)
}

// byWhom is " (changed by alice at ...)" for a finding whose status entry is attributed, for event messages.
func byWhom(rb *v1alpha1.RoleBaseline, f *drift.Finding) string {
	k := keyOfDrift(f)
	for i := range rb.Status.Findings {
		if s := &rb.Status.Findings[i]; s.ChangedBy != "" && keyOf(s) == k {
			return " (changed by " + attributionText(s) + ")"
		}
	}
	return ""
}

func attributionText(f *v1alpha1.Finding) string {
	if f.ChangedAt == nil {
		return f.ChangedBy
	}
	return f.ChangedBy + " at " + f.ChangedAt.UTC().Format(time.RFC3339)
}
