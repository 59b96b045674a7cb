package controllers_test

import (
	"bytes"
	"fmt"
	"sync/atomic"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

var seq atomic.Int64

// unique returns a name no other test uses.
func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func createNamespace(labels map[string]string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unique("ns"), Labels: labels}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func apiSubject(s rbacv1.Subject) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKind(s.Kind), APIGroup: s.APIGroup, Name: s.Name, Namespace: s.Namespace}
}

func newRole(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func newRoleBinding(ns, name, role string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role}, Subjects: subjects}
}

func getBaseline(name string) *v1alpha1.RoleBaseline {
	rb := &v1alpha1.RoleBaseline{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, rb)).To(Succeed())
	return rb
}

// eventuallyStatus waits until the baseline's status, for its current generation,
// satisfies match.
func eventuallyStatus(name string, match func(*v1alpha1.RoleBaselineStatus) bool) *v1alpha1.RoleBaseline {
	var rb *v1alpha1.RoleBaseline
	Eventually(func() bool {
		rb = getBaseline(name)
		return rb.Status.ObservedGeneration == rb.Generation && match(&rb.Status)
	}).Should(BeTrue(), func() string { return fmt.Sprintf("status of %s: %+v", name, rb.Status) })
	return rb
}

func inSync(st *v1alpha1.RoleBaselineStatus) bool {
	return meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionInSync)
}

// hasFinding matches a status listing a finding of type t on the named object.
func hasFinding(t v1alpha1.FindingType, kind, ns, name string) func(*v1alpha1.RoleBaselineStatus) bool {
	return func(st *v1alpha1.RoleBaselineStatus) bool {
		for _, f := range st.Findings {
			if f.Type == t && f.Object.Kind == kind && f.Object.Namespace == ns && f.Object.Name == name {
				return !inSync(st)
			}
		}
		return false
	}
}

// eventsAbout lists the events regarding an object, by reason.
func eventsAbout(kind, ns, name string) map[string]int {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.MatchingFieldsSelector{Selector: fields.AndSelectors(
		fields.OneTermEqualSelector("regarding.kind", kind),
		fields.OneTermEqualSelector("regarding.name", name))})).To(Succeed())
	out := map[string]int{}
	for _, e := range list.Items {
		if e.Regarding.Namespace == ns {
			out[e.Reason] += max(1, int(e.DeprecatedCount))
			if e.Series != nil {
				out[e.Reason] += int(e.Series.Count) - 1
			}
		}
	}
	return out
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
