package drift

import (
	"fmt"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// benchRuleSets are the rule sets roles are stamped from, the way charts and
// operators stamp the same roles into many namespaces. Some are dangerous on purpose.
var benchRuleSets = [][]rbacv1.PolicyRule{
	{readPods},
	{pr(ss(""), ss("configmaps", "services", "endpoints"), ss("get", "list", "watch"))},
	{pr(ss("apps"), ss("deployments", "replicasets", "statefulsets"), ss("get", "list", "watch", "update", "patch"))},
	{pr(ss(""), ss("secrets"), ss("get"))},
	{pr(ss(""), ss("pods/exec", "pods/log"), ss("get", "create"))},
	{pr(ss("batch"), ss("jobs", "cronjobs"), ss("get", "list", "create", "delete"))},
	{pr(ss("coordination.k8s.io"), ss("leases"), ss("get", "create", "update")), pr(ss(""), ss("events"), ss("create", "patch"))},
	{pr(ss("networking.k8s.io"), ss("ingresses", "networkpolicies"), ss("get", "list", "watch"))},
	{pr(ss("example.com"), ss("widgets", "widgets/status"), ss("*"))},
	{pr(ss("monitoring.coreos.com"), ss("servicemonitors", "prometheusrules"), ss("get", "list", "watch", "create", "update", "delete"))},
}

// benchSnapshot builds about n RBAC objects: per namespace 45 Roles and 45
// RoleBindings, plus ClusterRoles and ClusterRoleBindings for a tenth of n; half of
// the namespaces are selected by the baseline. The baseline declares three Roles,
// two RoleBindings, a ClusterRole and a ClusterRoleBinding, three ceilings, every
// guardrail, and drifts in a few namespaces.
func benchSnapshot(n int) (*v1alpha1.RoleBaselineSpec, *Snapshot) {
	const perNS = 90
	cluster := n / 10
	nss := (n - cluster) / perNS
	s := &Snapshot{}
	team := []rbacv1.Subject{group("team"), serviceAccount("", "deployer"), user("alice")}
	for i := 0; i < nss; i++ {
		ns := fmt.Sprintf("ns-%04d", i)
		tier := "dev"
		if i%2 == 0 {
			tier = "prod"
		}
		s.Namespaces = append(s.Namespaces, namespace(ns, "tier", tier))
		for j := 0; j < perNS/2; j++ {
			name := fmt.Sprintf("role-%02d", j)
			rules := benchRuleSets[(i+j)%len(benchRuleSets)]
			if j < 3 {
				rules = benchRuleSets[j] // the declared roles
				if i%50 == 1 && j == 0 {
					rules = append(rules[:len(rules):len(rules)], pr(ss(""), ss("pods"), ss("delete")))
				}
			}
			s.Roles = append(s.Roles, role(ns, name, rules...))
			ref := roleRef("Role", name)
			if j%5 == 4 {
				ref = roleRef("ClusterRole", fmt.Sprintf("shared-%03d", j))
			}
			subjects := []rbacv1.Subject{team[j%len(team)], user(fmt.Sprintf("user-%d", j))}
			s.RoleBindings = append(s.RoleBindings, roleBinding(ns, fmt.Sprintf("binding-%02d", j), ref, subjects...))
		}
	}
	for j := 0; j < cluster/2; j++ {
		name := fmt.Sprintf("shared-%03d", j)
		s.ClusterRoles = append(s.ClusterRoles, clusterRole(name, benchRuleSets[j%len(benchRuleSets)]...))
		s.ClusterRoleBindings = append(s.ClusterRoleBindings, clusterRoleBinding(fmt.Sprintf("crb-%03d", j),
			roleRef("ClusterRole", name), user(fmt.Sprintf("cluster-user-%d", j))))
	}
	spec := &v1alpha1.RoleBaselineSpec{
		Scope: v1alpha1.Scope{ClusterScoped: true, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}},
		Roles: []v1alpha1.DesiredRole{
			{Kind: v1alpha1.KindRole, Name: "role-00", Rules: ToAPIRules(benchRuleSets[0]...)},
			{Kind: v1alpha1.KindRole, Name: "role-01", Rules: ToAPIRules(benchRuleSets[1]...)},
			{Kind: v1alpha1.KindRole, Name: "role-02", Rules: ToAPIRules(benchRuleSets[2]...)},
			{Kind: v1alpha1.KindClusterRole, Name: "shared-000", Rules: ToAPIRules(benchRuleSets[0]...)},
		},
		Bindings: []v1alpha1.DesiredBinding{
			{Kind: v1alpha1.KindRoleBinding, Name: "binding-00", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "role-00"}, Subjects: apiSubjects(group("team"), user("user-0"))},
			{Kind: v1alpha1.KindRoleBinding, Name: "binding-01", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "role-01"}, Subjects: apiSubjects(serviceAccount("x", "deployer"), user("user-1"))},
			{Kind: v1alpha1.KindClusterRoleBinding, Name: "crb-000", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "shared-000"}, Subjects: apiSubjects(user("cluster-user-0"))},
		},
		Subjects: []v1alpha1.SubjectCeiling{
			{Subject: apiSubject(group("team")), Rules: ToAPIRules(pr(ss("", "apps"), ss("*"), ss("get", "list", "watch")))},
			{Subject: apiSubject(user("alice")), Rules: ToAPIRules(benchRuleSets[2]...)},
			{Subject: apiSubject(user("user-3")), Rules: ToAPIRules(benchRuleSets[3]...)},
		},
	}
	return spec, s
}

var benchSizes = []int{1000, 10000, 20000}

func objectCount(s *Snapshot) int {
	return len(s.Roles) + len(s.ClusterRoles) + len(s.RoleBindings) + len(s.ClusterRoleBindings)
}

// benchEvaluate runs one full evaluation per iteration as sub-benchmarks named by
// size: Evaluate, which also copies every finding out for its caller, and
// load, NewEvaluator and Load as the controllers run them (on create, on a spec
// change, on the resync), which leave the findings in place and index them for
// incremental updates.
func benchEvaluate(b *testing.B, spec *v1alpha1.RoleBaselineSpec, snap *Snapshot, usage Usage) {
	b.Run(fmt.Sprintf("objects=%d", objectCount(snap)), func(b *testing.B) {
		b.ReportAllocs()
		var fs []Finding
		cpu := processCPU()
		for b.Loop() {
			fs, _ = Evaluate(spec, snap, usage)
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(len(fs)), "findings")
	})
	b.Run(fmt.Sprintf("load/objects=%d", objectCount(snap)), func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		cpu := processCPU()
		for b.Loop() {
			e, err := NewEvaluator(spec, usage)
			if err != nil {
				b.Fatal(err)
			}
			e.Load(snap)
			n = e.Len()
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(n), "findings")
	})
}

// BenchmarkEvaluate is a full evaluation of one baseline from a cold start.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range benchSizes {
		spec, snap := benchSnapshot(n)
		benchEvaluate(b, spec, snap, nil)
	}
}

// BenchmarkUpsert re-evaluates after one object changed and reads the counts. It
// alternates a drifting and a clean version of the object so every iteration changes
// the findings. BenchmarkTop measures the status conversion separately.
func BenchmarkUpsert(b *testing.B) {
	for _, n := range benchSizes {
		spec, snap := benchSnapshot(n)
		e, err := NewEvaluator(spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		e.Load(snap)
		byNamespace := map[string][]runtime.Object{}
		for i := range snap.Roles {
			byNamespace[snap.Roles[i].Namespace] = append(byNamespace[snap.Roles[i].Namespace], &snap.Roles[i])
		}
		for i := range snap.RoleBindings {
			byNamespace[snap.RoleBindings[i].Namespace] = append(byNamespace[snap.RoleBindings[i].Namespace], &snap.RoleBindings[i])
		}
		clean := role("ns-0000", "role-00", benchRuleSets[0]...)
		drifted := role("ns-0000", "role-00", append(benchRuleSets[0][:1:1], pr(ss(""), ss("secrets"), ss("list")))...)
		// A shared ClusterRole granted to the team group (a ceiling subject) by a
		// RoleBinding in every namespace: the widest fan-out a change has here.
		shared := clusterRole("shared-009", benchRuleSets[9]...)
		sharedWide := clusterRole("shared-009", append(benchRuleSets[9][:1:1], pr(ss(""), ss("nodes"), ss("delete")))...)
		ns := namespace("ns-0001", "tier", "dev")
		nsProd := namespace("ns-0001", "tier", "prod")
		for _, c := range []struct {
			name string
			objs [2]any
		}{
			{"role", [2]any{&drifted, &clean}},
			{"shared-clusterrole", [2]any{&sharedWide, &shared}},
			{"namespace-relabel", [2]any{&nsProd, &ns}},
		} {
			b.Run(fmt.Sprintf("objects=%d/%s", objectCount(snap), c.name), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				cpu := processCPU()
				for b.Loop() {
					if _, err := e.Upsert(c.objs[i%2].(runtimeObject)); err != nil {
						b.Fatal(err)
					}
					// A namespace the scope starts selecting gets its objects, as the
					// controllers feed them from their cache.
					for _, name := range e.NeedNamespaces() {
						for _, o := range byNamespace[name] {
							if _, err := e.Upsert(o); err != nil {
								b.Fatal(err)
							}
						}
					}
					_ = e.Counts()
					i++
				}
				reportCPU(b, cpu)
			})
		}
	}
}

type runtimeObject = runtime.Object

// BenchmarkTop converts the first 100 findings to the API type, as a status patch needs.
func BenchmarkTop(b *testing.B) {
	for _, n := range benchSizes {
		spec, snap := benchSnapshot(n)
		e, err := NewEvaluator(spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		e.Load(snap)
		b.Run(fmt.Sprintf("objects=%d", objectCount(snap)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = e.Top(100)
			}
		})
	}
}

// reportCPU adds the process CPU time per operation since start, garbage collection
// included, as cpu-ns/op.
func reportCPU(b *testing.B, start int64) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// coversUsage is usage as audit.Snapshot holds it: the requests recorded per binding,
// then subject, answered through Requests.
type coversUsage map[ObjectRef]map[rbacv1.Subject][]rbacv1.PolicyRule

func (u coversUsage) Requests(b ObjectRef, s rbacv1.Subject) []rbacv1.PolicyRule { return u[b][s] }

func (u coversUsage) Used(b ObjectRef, s rbacv1.Subject, rule rbacv1.PolicyRule) bool {
	return slices.ContainsFunc(u[b][s], func(req rbacv1.PolicyRule) bool { return CoversRequest(rule, req) })
}

// BenchmarkEvaluateWithUsage is BenchmarkEvaluate with usage data: every in-scope
// binding is also checked for unused permissions; a quarter of the bindings were
// used (two requests each), so are checked piece by piece.
func BenchmarkEvaluateWithUsage(b *testing.B) {
	for _, n := range benchSizes {
		spec, snap := benchSnapshot(n)
		usage := coversUsage{}
		for i, rb := range snap.RoleBindings {
			if i%4 != 0 {
				continue // most grants are never used at all
			}
			ref := ObjectRef{KindRoleBinding, rb.Namespace, rb.Name}
			usage[ref] = map[rbacv1.Subject][]rbacv1.PolicyRule{}
			for _, s := range rb.Subjects {
				usage[ref][normalizeSubject(s, rb.Namespace)] = []rbacv1.PolicyRule{pr(ss(""), ss("pods"), ss("get")),
					pr(ss(""), ss("configmaps"), ss("list"))}
			}
		}
		benchEvaluate(b, spec, snap, usage)
	}
}

// BenchmarkEvaluateEffective is BenchmarkEvaluate at 20k objects with every ceiling
// judged Effective: the per-subject binding index and a walk per ceiling subject.
func BenchmarkEvaluateEffective(b *testing.B) {
	spec, snap := benchSnapshot(20000)
	for i := range spec.Subjects {
		spec.Subjects[i].Judge = v1alpha1.CeilingEffective
	}
	benchEvaluate(b, spec, snap, nil)
}
