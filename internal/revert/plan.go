package revert

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// ManagedByLabel marks objects the operator created.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// ManagedByValue is ManagedByLabel's value on objects the operator created.
const ManagedByValue = "rbac-guardrails"

// Action is one write that puts an object back on its baseline.
type Action struct {
	Kind v1alpha1.RevertAction
	Ref  drift.ObjectRef
	// Prior is the live object before the write; nil for Create.
	Prior client.Object
	// Desired is the object to create or update to; nil for Delete.
	Desired client.Object
	// Findings are what the write reverts.
	Findings []drift.Finding
	// DriftedBy names who left the object as it is (Writer.String), for the journal;
	// empty when the caller does not know.
	DriftedBy string
}

// Skip is a finding Enforce mode leaves alone, and why.
type Skip struct {
	Finding drift.Finding
	Reason  string
	// ByPolicy is true when the baseline asks for the finding to be reported only
	// (unmanaged Report, violations Report, advisory findings), false when the
	// operator would revert it but must not.
	ByPolicy bool
}

// Live looks up a live object from the cache; nil when it does not exist. Plan never
// modifies what it returns, so it may be the cache's own copy.
type Live func(ref drift.ObjectRef) client.Object

// Plan turns findings into actions, one per object, in the findings' order.
// Findings it will not revert come back as skips with a reason.
func Plan(spec *v1alpha1.RoleBaselineSpec, findings []drift.Finding, live Live) ([]Action, []Skip) {
	byRef := map[drift.ObjectRef][]drift.Finding{}
	var order []drift.ObjectRef
	for _, f := range findings {
		if _, seen := byRef[f.Object]; !seen {
			order = append(order, f.Object)
		}
		byRef[f.Object] = append(byRef[f.Object], f)
	}
	var (
		actions []Action
		skips   []Skip
	)
	for _, ref := range order {
		fs := byRef[ref]
		if !slices.ContainsFunc(fs, func(f drift.Finding) bool { return !reportOnly(spec, f.Type) }) {
			// Nothing to revert here: skip without reading the object (most findings of a
			// large Report-only scope end here).
			for _, f := range fs {
				skips = append(skips, Skip{Finding: f, Reason: "the baseline reports " + string(f.Type) + " findings only", ByPolicy: true})
			}
			continue
		}
		a, s := planObject(spec, ref, fs, live(ref))
		if a != nil {
			actions = append(actions, *a)
		}
		skips = append(skips, s...)
	}
	return actions, skips
}

// planObject decides the one write for an object's findings.
func planObject(spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef, fs []drift.Finding, obj client.Object) (*Action, []Skip) {
	skipAll := func(reason string) (*Action, []Skip) {
		out := make([]Skip, len(fs))
		for i, f := range fs {
			out[i] = Skip{Finding: f, Reason: reason, ByPolicy: reportOnly(spec, f.Type)}
		}
		return nil, out
	}
	if obj != nil {
		if reason := untouchable(obj, spec.Enforcement.IncludeOwned); reason != "" {
			return skipAll(reason)
		}
	}

	var (
		revert []drift.Finding
		skips  []Skip
		kind   v1alpha1.RevertAction
		remove []rbacv1.Subject // subjects to drop for violations
	)
	rank := map[v1alpha1.RevertAction]int{"": 0, v1alpha1.RevertUpdate: 1, v1alpha1.RevertCreate: 2, v1alpha1.RevertRecreate: 3, v1alpha1.RevertDelete: 4}
	want := func(a v1alpha1.RevertAction, f drift.Finding) {
		revert = append(revert, f)
		if rank[a] > rank[kind] {
			kind = a
		}
	}
	for _, f := range fs {
		switch f.Type {
		case v1alpha1.FindingMissing:
			want(v1alpha1.RevertCreate, f)
		case v1alpha1.FindingRulesAdded, v1alpha1.FindingRulesRemoved, v1alpha1.FindingSubjectsAdded, v1alpha1.FindingSubjectsRemoved:
			want(v1alpha1.RevertUpdate, f)
		case v1alpha1.FindingRoleRefChanged:
			want(v1alpha1.RevertRecreate, f)
		case v1alpha1.FindingUnexpected:
			if spec.Unmanaged == v1alpha1.UnmanagedRemove {
				want(v1alpha1.RevertDelete, f)
			} else {
				skips = append(skips, Skip{f, "spec.unmanaged is " + string(spec.Unmanaged) + ", not Remove", true})
			}
		case v1alpha1.FindingExceedsCeiling, v1alpha1.FindingGuardrailViolation:
			drop, why, byPolicy := violationSubjects(spec, ref, f, obj)
			if why != "" {
				skips = append(skips, Skip{f, why, byPolicy})
				continue
			}
			remove = append(remove, drop...)
			want(v1alpha1.RevertUpdate, f)
		default:
			skips = append(skips, Skip{f, "advisory finding", true})
		}
	}
	if kind == "" {
		return nil, skips
	}
	a := &Action{Kind: kind, Ref: ref, Prior: obj, Findings: revert}
	switch kind {
	case v1alpha1.RevertDelete:
	case v1alpha1.RevertCreate:
		a.Prior = nil
		a.Desired = declared(spec, ref, nil)
	case v1alpha1.RevertRecreate:
		a.Desired = declared(spec, ref, obj)
	case v1alpha1.RevertUpdate:
		a.Desired = updated(spec, ref, obj, remove)
	}
	if a.Desired == nil && kind != v1alpha1.RevertDelete {
		for _, f := range revert {
			skips = append(skips, Skip{f, "the baseline does not declare " + ref.String(), false})
		}
		return nil, skips
	}
	return a, skips
}

// reportOnly reports whether the baseline asks for findings of type t to be reported, not reverted.
func reportOnly(spec *v1alpha1.RoleBaselineSpec, t v1alpha1.FindingType) bool {
	return !spec.Reverts(t)
}

// untouchable says why the operator must not write obj, or "".
func untouchable(obj client.Object, includeOwned bool) string {
	name := obj.GetName()
	switch {
	case strings.HasPrefix(name, "system:"):
		return "system: objects belong to Kubernetes"
	case obj.GetLabels()["kubernetes.io/bootstrapping"] == "rbac-defaults",
		obj.GetAnnotations()["rbac.authorization.kubernetes.io/autoupdate"] == "true":
		return "bootstrap RBAC is reconciled by the API server"
	}
	if owner := metav1.GetControllerOf(obj); owner != nil && !includeOwned {
		return fmt.Sprintf("owned by %s %s; set spec.enforcement.includeOwned to revert it", owner.Kind, owner.Name)
	}
	return ""
}

// violationSubjects returns the subjects to remove from a binding for a ceiling or
// guardrail finding, or why the finding is only reported (and whether by policy).
func violationSubjects(spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef, f drift.Finding, obj client.Object) ([]rbacv1.Subject, string, bool) {
	if spec.Enforcement.Violations != v1alpha1.ViolationRemoveSubjects {
		return nil, "spec.enforcement.violations is Report", true
	}
	if ref.Kind != drift.KindRoleBinding && ref.Kind != drift.KindClusterRoleBinding {
		return nil, "a role's rules are not trimmed for a violation: remove the binding's subjects or fix the role", true
	}
	if obj == nil {
		return nil, "the binding no longer exists", false
	}
	if f.Type == v1alpha1.FindingGuardrailViolation {
		return f.Subjects, "", false
	}
	// ExceedsCeiling: remove the subject when the binding names it; a grant through a
	// group would need the group removed, which reaches other members too.
	for _, s := range bindingSubjects(obj) {
		if f.Subject != nil && sameSubject(s, *f.Subject) {
			return []rbacv1.Subject{s}, "", false
		}
	}
	return nil, "granted through a group: remove the group from the binding by hand", false
}

// declared builds the object the baseline declares at ref. For a recreate, labels
// and annotations of the live object carry over.
func declared(spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef, live client.Object) client.Object {
	meta := metav1.ObjectMeta{Name: ref.Name, Namespace: ref.Namespace, Labels: map[string]string{ManagedByLabel: ManagedByValue}}
	if live != nil {
		meta.Labels, meta.Annotations = live.GetLabels(), live.GetAnnotations()
	}
	switch ref.Kind {
	case drift.KindRole, drift.KindClusterRole:
		d := spec.RoleAt(ref.Kind, ref.Namespace, ref.Name)
		if d == nil {
			return nil
		}
		if ref.Kind == drift.KindRole {
			return &rbacv1.Role{ObjectMeta: meta, Rules: v1alpha1.RBACRules(d.Rules)}
		}
		cr := &rbacv1.ClusterRole{ObjectMeta: meta, Rules: v1alpha1.RBACRules(d.Rules)}
		if d.AggregationRule != nil {
			cr.Rules = nil
			cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: d.AggregationRule.ClusterRoleSelectors}
		}
		return cr
	case drift.KindRoleBinding, drift.KindClusterRoleBinding:
		d := spec.BindingAt(ref.Kind, ref.Namespace, ref.Name)
		if d == nil {
			return nil
		}
		subjects := make([]rbacv1.Subject, len(d.Subjects))
		for j, s := range d.Subjects {
			subjects[j] = s.RBAC()
		}
		if ref.Kind == drift.KindRoleBinding {
			return &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: d.RoleRef.RBAC(), Subjects: subjects}
		}
		return &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: d.RoleRef.RBAC(), Subjects: subjects}
	}
	return nil
}

// updated returns a copy of the live object with its rules, aggregation rule or
// subjects set to the declared ones and the violating subjects removed. The copy
// keeps the live resourceVersion, so the update fails if the object changed since.
func updated(spec *v1alpha1.RoleBaselineSpec, ref drift.ObjectRef, live client.Object, remove []rbacv1.Subject) client.Object {
	if live == nil {
		return nil
	}
	want := declared(spec, ref, live)
	out := live.DeepCopyObject().(client.Object)
	// The cache trims managed fields; sent back, they would overwrite the server's.
	out.SetManagedFields(nil)
	switch o := out.(type) {
	case *rbacv1.Role:
		if w, ok := want.(*rbacv1.Role); ok {
			o.Rules = w.Rules
		}
	case *rbacv1.ClusterRole:
		if w, ok := want.(*rbacv1.ClusterRole); ok {
			if w.AggregationRule != nil {
				// The controller-manager owns an aggregated role's rules: never write them.
				o.AggregationRule = w.AggregationRule
			} else {
				o.Rules, o.AggregationRule = w.Rules, nil
			}
		}
	case *rbacv1.RoleBinding:
		if w, ok := want.(*rbacv1.RoleBinding); ok {
			o.Subjects = w.Subjects
		}
		o.Subjects = without(o.Subjects, remove)
	case *rbacv1.ClusterRoleBinding:
		if w, ok := want.(*rbacv1.ClusterRoleBinding); ok {
			o.Subjects = w.Subjects
		}
		o.Subjects = without(o.Subjects, remove)
	}
	return out
}

func bindingSubjects(obj client.Object) []rbacv1.Subject {
	switch o := obj.(type) {
	case *rbacv1.RoleBinding:
		return o.Subjects
	case *rbacv1.ClusterRoleBinding:
		return o.Subjects
	}
	return nil
}

func without(subjects, remove []rbacv1.Subject) []rbacv1.Subject {
	if len(remove) == 0 {
		return subjects
	}
	return slices.DeleteFunc(slices.Clone(subjects), func(s rbacv1.Subject) bool {
		return slices.ContainsFunc(remove, func(r rbacv1.Subject) bool { return sameSubject(s, r) })
	})
}

// sameSubject compares subjects with the API's apiGroup defaults.
func sameSubject(a, b rbacv1.Subject) bool {
	group := func(s rbacv1.Subject) string {
		if s.APIGroup == "" && s.Kind != rbacv1.ServiceAccountKind {
			return rbacv1.GroupName
		}
		return s.APIGroup
	}
	return a.Kind == b.Kind && a.Name == b.Name && a.Namespace == b.Namespace && group(a) == group(b)
}
