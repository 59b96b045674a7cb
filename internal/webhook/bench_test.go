package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
)

const (
	benchNamespaces = 200
	benchBaselines  = 100
	benchObjects    = 20000
)

var benchReadPods = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}, Verbs: []string{"get", "list", "watch"}}}

func benchNS(i int) string { return fmt.Sprintf("ns-%03d", i) }

// benchWorld is benchObjects RBAC objects: in each namespace a declared Role and
// RoleBinding "app" and a binding of the shared ClusterRole "shared-view", 5% ClusterRoles and 5% ClusterRoleBindings, and filler Roles and
// RoleBindings round-robin over the namespaces. Baseline k selects namespaces 2k and
// 2k+1, declares "app" there, caps its team group and reports undeclared objects;
// even baselines enforce, odd ones audit.
func benchWorld() (*drift.Snapshot, []v1alpha1.RoleBaselineSpec) {
	s := &drift.Snapshot{}
	for i := range benchNamespaces {
		s.Namespaces = append(s.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS(i),
			Labels: map[string]string{"kubernetes.io/metadata.name": benchNS(i), "team": fmt.Sprintf("t%02d", i/2)}}})
		s.Roles = append(s.Roles, rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS(i), Name: "app"}, Rules: benchReadPods})
		s.RoleBindings = append(s.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS(i), Name: "app"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("team-%02d", i/2)}}})
	}
	// A ClusterRole every team is granted in its namespaces: changing it concerns every baseline.
	s.ClusterRoles = append(s.ClusterRoles, rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "shared-view"}, Rules: benchReadPods})
	for i := range benchNamespaces {
		s.RoleBindings = append(s.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS(i), Name: "shared-view"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "shared-view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("team-%02d", i/2)}}})
	}
	filler := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list"}}}
	rest := benchObjects - 3*benchNamespaces - 1
	for i := range rest / 20 {
		name := fmt.Sprintf("filler-%05d", i)
		s.ClusterRoles = append(s.ClusterRoles, rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: filler})
		s.ClusterRoleBindings = append(s.ClusterRoleBindings, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("user-%05d", i)}}})
	}
	rest -= 2 * (rest / 20)
	for i := range rest / 2 {
		ns, name := benchNS(i%benchNamespaces), fmt.Sprintf("filler-%05d", i)
		s.Roles = append(s.Roles, rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: filler})
		s.RoleBindings = append(s.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName,
				Name: fmt.Sprintf("team-%02d", (i%benchNamespaces)/2)}}})
	}
	var specs []v1alpha1.RoleBaselineSpec
	for k := range benchBaselines {
		mode := v1alpha1.ModeEnforce
		if k%2 == 1 {
			mode = v1alpha1.ModeAudit
		}
		team := v1alpha1.Subject{Kind: v1alpha1.SubjectGroup, APIGroup: v1alpha1.RBACGroup, Name: fmt.Sprintf("team-%02d", k)}
		specs = append(specs, v1alpha1.RoleBaselineSpec{Mode: mode, Unmanaged: v1alpha1.UnmanagedReport,
			Scope: v1alpha1.Scope{Namespaces: []string{benchNS(2 * k), benchNS(2*k + 1)}},
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "app", Rules: drift.ToAPIRules(benchReadPods...)}},
			Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "app", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "app"},
				Subjects: []v1alpha1.Subject{team}}},
			Subjects: []v1alpha1.SubjectCeiling{{Subject: team, Rules: drift.ToAPIRules(append(benchReadPods, filler...)...)}}})
	}
	return s, specs
}

func benchRequest(op admissionv1.Operation, obj client.Object, kind string) admission.Request {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	req := admissionv1.AdmissionRequest{Operation: op, Kind: metav1.GroupVersionKind{Group: rbacv1.GroupName, Version: "v1", Kind: kind},
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UserInfo: authenticationv1.UserInfo{Username: "alice", Groups: []string{"devs"}}}
	if op == admissionv1.Delete {
		req.OldObject.Raw = raw
	} else {
		req.Object.Raw = raw
	}
	return admission.Request{AdmissionRequest: req}
}

// BenchmarkRBACHandler measures the RBAC webhook's decision (decode, preview against
// 100 baselines over 20k objects, response) per kind of request, with p50 and p99.
func BenchmarkRBACHandler(b *testing.B) {
	logf.SetLogger(logr.Discard())
	sch := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(sch))
	snap, specs := benchWorld()
	baselines := make([]v1alpha1.RoleBaseline, len(specs))
	for k := range specs {
		baselines[k] = v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("baseline-%03d", k), UID: types.UID(fmt.Sprint(k)), Generation: 1},
			Spec: specs[k]}
	}
	heap := func() uint64 {
		var m goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	p, err := registry.Offline(baselines, snap)
	if err != nil {
		b.Fatal(err)
	}
	// What the 100 loaded evaluators hold, beyond the snapshot they point into.
	evaluatorsMiB := float64(heap()-base) / (1 << 20)
	h := &RBACHandler{Previewer: p, Decoder: admission.NewDecoder(sch), Exemptions: NewExemptions(nil, []string{"system:masters"}, []string{"kube-system"})}

	secrets := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	kinds := map[string]func(i int) admission.Request{
		"declared-role-drifts": func(i int) admission.Request {
			return benchRequest(admissionv1.Update, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS(i % benchNamespaces), Name: "app"},
				Rules: append(slices.Clone(benchReadPods), secrets)}, "Role")
		},
		"undeclared-role-created": func(i int) admission.Request {
			return benchRequest(admissionv1.Create, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS(i % benchNamespaces),
				Name: fmt.Sprintf("extra-%d", i)}, Rules: benchReadPods}, "Role")
		},
		"declared-binding-deleted": func(i int) admission.Request {
			return benchRequest(admissionv1.Delete, &snap.RoleBindings[i%benchNamespaces], "RoleBinding")
		},
		"unread-clusterrole-widened": func(i int) admission.Request {
			return benchRequest(admissionv1.Update, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("filler-%05d", i)},
				Rules: []rbacv1.PolicyRule{secrets}}, "ClusterRole")
		},
		"out-of-scope": func(i int) admission.Request {
			return benchRequest(admissionv1.Update, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "elsewhere", Name: fmt.Sprintf("x-%d", i)},
				Rules: benchReadPods}, "Role")
		},
		// The widest fan-out: a ClusterRole every baseline's team is granted, widened
		// beyond every ceiling (50 denials and 50 warnings, 400 bindings re-checked).
		"shared-clusterrole-widened": func(int) admission.Request {
			return benchRequest(admissionv1.Update, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "shared-view"},
				Rules: append(slices.Clone(benchReadPods), secrets)}, "ClusterRole")
		},
	}
	ctx := context.Background()
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		reqs := make([]admission.Request, 50)
		for i := range reqs {
			reqs[i] = kinds[name](i * 7)
		}
		b.Run(name, func(b *testing.B) {
			samples := make([]time.Duration, 0, 4096)
			denied := 0
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				resp := h.Handle(ctx, reqs[i%len(reqs)])
				samples = append(samples, time.Since(start))
				if !resp.Allowed {
					denied++
				}
			}
			slices.Sort(samples)
			q := func(f float64) float64 { return float64(samples[int(f*float64(len(samples)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(denied)/float64(len(samples)), "denied/op")
			b.ReportMetric(evaluatorsMiB, "evaluators-MiB")
		})
	}
}
