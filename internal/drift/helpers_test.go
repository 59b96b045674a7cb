package drift

import (
	"testing"

	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func ss(xs ...string) []string { return xs }

func pr(groups, resources, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

func urlRule(urls, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{NonResourceURLs: urls, Verbs: verbs}
}

func labelsOf(kv ...string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func namespace(name string, kv ...string) corev1.Namespace {
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labelsOf(kv...)}}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func roleRef(kind, name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
}

func roleBinding(ns, name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: ref, Subjects: subjects}
}

func clusterRoleBinding(name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subjects}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func serviceAccount(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func apiSubject(s rbacv1.Subject) v1alpha1.Subject { return toAPISubject(s) }

func apiSubjects(xs ...rbacv1.Subject) []v1alpha1.Subject {
	out := make([]v1alpha1.Subject, len(xs))
	for i, s := range xs {
		out[i] = toAPISubject(s)
	}
	return out
}

// describe renders a finding as one comparable line for table tests.
func describe(f Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", f.Type, f.Object)
	if f.Guardrail != "" {
		fmt.Fprintf(&b, " guardrail=%s", f.Guardrail)
	}
	if f.Subject != nil {
		fmt.Fprintf(&b, " subject=%s", describeSubject(*f.Subject))
	}
	if len(f.Rules) > 0 {
		fmt.Fprintf(&b, " rules=%s", describeRules(f.Rules))
	}
	if len(f.Subjects) > 0 {
		fmt.Fprintf(&b, " subjects=%s", describeSubjects(f.Subjects))
	}
	return b.String()
}

func describeAll(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = describe(f)
	}
	return out
}

// noGuardrails is a guardrails block that applies none, for drift-only tests.
var noGuardrails = v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone}

func boolPtr(b bool) *bool { return &b }

// incremental builds an Evaluator for spec by upserting snap's objects one by one,
// feeding namespaces as they become selected.
// loaded returns an Evaluator of spec with usage, loaded from snap.
func loaded(t testing.TB, spec *v1alpha1.RoleBaselineSpec, snap *Snapshot, usage Usage) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(spec, usage)
	if err != nil {
		t.Fatal(err)
	}
	e.Load(snap)
	return e
}

func incremental(t testing.TB, spec *v1alpha1.RoleBaselineSpec, snap *Snapshot) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs := snapshotObjects(snap)
	for _, o := range objs {
		if _, err := e.Upsert(o); err != nil {
			t.Fatal(err)
		}
		feed(t, e, objs)
	}
	return e
}

// feed upserts, from objs, the Roles and RoleBindings of every namespace the
// Evaluator started selecting, as the controllers do from their cache.
func feed(t testing.TB, e *Evaluator, objs []runtime.Object) {
	t.Helper()
	for names := e.NeedNamespaces(); len(names) > 0; names = e.NeedNamespaces() {
		for _, ns := range names {
			for _, o := range objs {
				if ref := refOf(o); ref.Namespace == ns && (ref.Kind == KindRole || ref.Kind == KindRoleBinding) {
					if _, err := e.Upsert(o); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
}

// objects lists a world's objects.
func (w world) objects() []runtime.Object {
	out := make([]runtime.Object, 0, len(w))
	for _, o := range w {
		out = append(out, o)
	}
	return out
}
