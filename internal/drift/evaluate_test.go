package drift

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

var (
	readPods   = pr(ss(""), ss("pods"), ss("get", "list", "watch"))
	teamNS     = v1alpha1.Scope{Namespaces: ss("team-a", "team-b")}
	teamNSObjs = []corev1.Namespace{namespace("team-a"), namespace("team-b")}
)

// declRole declares a namespaced Role with rules in a spec scoped to team-a and team-b.
func declRole(name string, rules ...rbacv1.PolicyRule) v1alpha1.RoleBaselineSpec {
	return v1alpha1.RoleBaselineSpec{Scope: teamNS, Guardrails: noGuardrails,
		Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: name, Rules: ToAPIRules(rules...)}}}
}

// inBoth is the same Role in team-a and team-b.
func inBoth(name string, rules ...rbacv1.PolicyRule) Snapshot {
	return Snapshot{Namespaces: teamNSObjs, Roles: []rbacv1.Role{role("team-a", name, rules...), role("team-b", name, rules...)}}
}

func TestEvaluateRules(t *testing.T) {
	tests := map[string]struct {
		spec v1alpha1.RoleBaselineSpec
		snap Snapshot
		want []string
	}{
		"in sync": {spec: declRole("reader", readPods), snap: inBoth("reader", readPods)},
		"reordered rules and verbs": {
			spec: declRole("reader", readPods, pr(ss("apps"), ss("deployments"), ss("get"))),
			snap: inBoth("reader", pr(ss("apps"), ss("deployments"), ss("get")), pr(ss(""), ss("pods"), ss("watch", "list", "get")))},
		"duplicated rules": {spec: declRole("reader", readPods), snap: inBoth("reader", readPods, readPods, pr(ss(""), ss("pods"), ss("get")))},
		"split vs merged": {
			spec: declRole("reader", pr(ss("", "apps"), ss("pods", "deployments"), ss("get", "list"))),
			snap: inBoth("reader",
				pr(ss(""), ss("pods"), ss("get")), pr(ss(""), ss("pods"), ss("list")), pr(ss(""), ss("deployments"), ss("get", "list")),
				pr(ss("apps"), ss("pods", "deployments"), ss("list", "get")))},
		"wildcard verbs declared and live": {spec: declRole("r", pr(ss(""), ss("pods"), ss("*"))), snap: inBoth("r", pr(ss(""), ss("pods"), ss("*")))},
		"rules added, minimal": {
			spec: declRole("reader", readPods),
			snap: Snapshot{Namespaces: teamNSObjs, Roles: []rbacv1.Role{role("team-a", "reader", readPods),
				role("team-b", "reader", pr(ss(""), ss("pods", "secrets"), ss("get", "list", "watch", "delete")))}},
			want: []string{"RulesAdded Role team-b/reader rules=delete pods [core]; delete,get,list,watch secrets [core]"}},
		"rules removed": {
			spec: declRole("reader", readPods),
			snap: inBoth("reader", pr(ss(""), ss("pods"), ss("get"))),
			want: []string{"RulesRemoved Role team-a/reader rules=list,watch pods [core]", "RulesRemoved Role team-b/reader rules=list,watch pods [core]"}},
		"wildcard verbs added": {
			spec: declRole("r", pr(ss(""), ss("pods"), ss("get"))),
			snap: inBoth("r", pr(ss(""), ss("pods"), ss("*"))),
			want: []string{"RulesAdded Role team-a/r rules=* pods [core]", "RulesAdded Role team-b/r rules=* pods [core]"}},
		"apiGroups wildcard added": {
			spec: declRole("r", pr(ss("apps"), ss("deployments"), ss("get"))),
			snap: inBoth("r", pr(ss("*"), ss("deployments"), ss("get"))),
			want: []string{"RulesAdded Role team-a/r rules=get deployments [*]", "RulesAdded Role team-b/r rules=get deployments [*]"}},
		"resources wildcard declared covers live": {
			spec: declRole("r", pr(ss(""), ss("*"), ss("get"))),
			snap: inBoth("r", pr(ss(""), ss("pods", "pods/log", "configmaps"), ss("get"))),
			want: []string{"RulesRemoved Role team-a/r rules=get * [core]", "RulesRemoved Role team-b/r rules=get * [core]"}},
		"resourceNames narrowed": {
			spec: declRole("r", pr(ss(""), ss("configmaps"), ss("get"))),
			snap: inBoth("r", rbacv1.PolicyRule{APIGroups: ss(""), Resources: ss("configmaps"), Verbs: ss("get"), ResourceNames: ss("a", "b")}),
			want: []string{"RulesRemoved Role team-a/r rules=get configmaps [core]", "RulesRemoved Role team-b/r rules=get configmaps [core]"}},
		"resourceNames widened": {
			spec: declRole("r", rbacv1.PolicyRule{APIGroups: ss(""), Resources: ss("configmaps"), Verbs: ss("get"), ResourceNames: ss("a")}),
			snap: inBoth("r", rbacv1.PolicyRule{APIGroups: ss(""), Resources: ss("configmaps"), Verbs: ss("get"), ResourceNames: ss("b", "a")}),
			want: []string{"RulesAdded Role team-a/r rules=get configmaps [core] names=b", "RulesAdded Role team-b/r rules=get configmaps [core] names=b"}},
		"subresource added": {
			spec: declRole("r", pr(ss(""), ss("pods"), ss("get", "create"))),
			snap: inBoth("r", pr(ss(""), ss("pods", "pods/exec"), ss("get", "create"))),
			want: []string{"RulesAdded Role team-a/r rules=create,get pods/exec [core]", "RulesAdded Role team-b/r rules=create,get pods/exec [core]"}},
		"subresource wildcard declared covers": {
			spec: declRole("r", pr(ss(""), ss("*/status"), ss("get"))),
			snap: inBoth("r", pr(ss(""), ss("*/status"), ss("get")), pr(ss(""), ss("pods/status"), ss("get")))},
		"missing in one namespace": {
			spec: declRole("reader", readPods),
			snap: Snapshot{Namespaces: teamNSObjs, Roles: []rbacv1.Role{role("team-a", "reader", readPods)}},
			want: []string{"Missing Role team-b/reader"}},
		"listed namespace not created yet expects nothing": {
			spec: declRole("reader", readPods),
			snap: Snapshot{Namespaces: []corev1.Namespace{namespace("team-a")}, Roles: []rbacv1.Role{role("team-a", "reader", readPods)}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkEvaluate(t, tc.spec, tc.snap, tc.want) })
	}
}

func checkEvaluate(t *testing.T, spec v1alpha1.RoleBaselineSpec, snap Snapshot, want []string) {
	t.Helper()
	got, err := Evaluate(&spec, &snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotS := describeAll(got)
	slices.Sort(gotS)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(gotS, want) {
		t.Errorf("findings differ\ngot:\n  %s\nwant:\n  %s", strings.Join(gotS, "\n  "), strings.Join(want, "\n  "))
	}
	for _, f := range got {
		if f.Message() == "" || f.Severity == "" {
			t.Errorf("finding without message or severity: %+v", f)
		}
	}
	checkIncrementalMatches(t, &spec, &snap, got)
}

// checkIncrementalMatches builds the same state object by object and compares.
func checkIncrementalMatches(t *testing.T, spec *v1alpha1.RoleBaselineSpec, snap *Snapshot, want []Finding) {
	t.Helper()
	if got := incremental(t, spec, snap).Findings(); !findingsEqual(got, want) {
		t.Errorf("incremental differs from full\nincremental: %v\nfull: %v", describeAll(got), describeAll(want))
	}
}

func TestEvaluateAggregation(t *testing.T) {
	sel := func(k, v string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
	}
	aggSpec := func(sels ...metav1.LabelSelector) v1alpha1.RoleBaselineSpec {
		return v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true}, Guardrails: noGuardrails,
			Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "monitoring",
				AggregationRule: &v1alpha1.AggregationRule{ClusterRoleSelectors: sels}}}}
	}
	aggregated := func(rules []rbacv1.PolicyRule, sels ...metav1.LabelSelector) Snapshot {
		cr := clusterRole("monitoring", rules...)
		cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: sels}
		return Snapshot{ClusterRoles: []rbacv1.ClusterRole{cr}}
	}
	tests := map[string]struct {
		spec v1alpha1.RoleBaselineSpec
		snap Snapshot
		want []string
	}{
		"same selectors, any rules": {spec: aggSpec(sel("a", "1"), sel("b", "2")),
			snap: aggregated([]rbacv1.PolicyRule{pr(ss("*"), ss("*"), ss("*"))}, sel("b", "2"), sel("a", "1"))},
		"extra selector":   {spec: aggSpec(sel("a", "1")), snap: aggregated(nil, sel("a", "1"), sel("c", "3")), want: []string{"RulesAdded ClusterRole monitoring"}},
		"missing selector": {spec: aggSpec(sel("a", "1"), sel("b", "2")), snap: aggregated(nil, sel("a", "1")), want: []string{"RulesRemoved ClusterRole monitoring"}},
		"live not aggregated": {spec: aggSpec(sel("a", "1")), snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("monitoring", readPods)}},
			want: []string{"RulesRemoved ClusterRole monitoring"}},
		"live aggregated, declared rules": {
			spec: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true}, Guardrails: noGuardrails,
				Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "monitoring", Rules: ToAPIRules(readPods)}}},
			snap: aggregated([]rbacv1.PolicyRule{readPods}, sel("a", "1")),
			want: []string{"RulesAdded ClusterRole monitoring"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkEvaluate(t, tc.spec, tc.snap, tc.want) })
	}
}

func TestEvaluateBindings(t *testing.T) {
	decl := func(subjects ...rbacv1.Subject) v1alpha1.RoleBaselineSpec {
		return v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a")}, Guardrails: noGuardrails,
			Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "devs",
				RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"}, Subjects: apiSubjects(subjects...)}}}
	}
	live := func(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) Snapshot {
		return Snapshot{Namespaces: []corev1.Namespace{namespace("team-a")},
			RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "devs", ref, subjects...)}}
	}
	view := roleRef("ClusterRole", "view")
	tests := map[string]struct {
		spec v1alpha1.RoleBaselineSpec
		snap Snapshot
		want []string
	}{
		"in sync, reordered and duplicated": {spec: decl(user("a"), group("g")), snap: live(view, group("g"), user("a"), user("a"))},
		"apiGroup defaults": {spec: decl(user("a"), serviceAccount("team-a", "bot")),
			snap: live(view, rbacv1.Subject{Kind: "User", Name: "a"}, rbacv1.Subject{Kind: "ServiceAccount", Name: "bot", Namespace: "team-a"})},
		"serviceaccount namespace defaults to the binding's": {spec: decl(serviceAccount("team-a", "bot")),
			snap: live(view, rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"})},
		"subjects added": {spec: decl(user("a")), snap: live(view, user("a"), user("mallory"), serviceAccount("other", "bot")),
			want: []string{"SubjectsAdded RoleBinding team-a/devs subjects=ServiceAccount other/bot, User mallory"}},
		"subjects removed": {spec: decl(user("a"), group("g")), snap: live(view, user("a")),
			want: []string{"SubjectsRemoved RoleBinding team-a/devs subjects=Group g"}},
		"roleRef changed": {spec: decl(user("a")), snap: live(roleRef("ClusterRole", "edit"), user("a")),
			want: []string{"RoleRefChanged RoleBinding team-a/devs"}},
		"missing binding": {spec: decl(user("a")), snap: Snapshot{Namespaces: []corev1.Namespace{namespace("team-a")}},
			want: []string{"Missing RoleBinding team-a/devs"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkEvaluate(t, tc.spec, tc.snap, tc.want) })
	}
}

func TestEvaluateScope(t *testing.T) {
	base := func(mut func(*v1alpha1.RoleBaselineSpec)) v1alpha1.RoleBaselineSpec {
		s := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a"), ClusterScoped: true},
			Unmanaged: v1alpha1.UnmanagedReport, Guardrails: noGuardrails}
		if mut != nil {
			mut(&s)
		}
		return s
	}
	labelled := func(r rbacv1.Role, kv ...string) rbacv1.Role { r.Labels = labelsOf(kv...); return r }
	nsA := []corev1.Namespace{namespace("team-a", "tier", "gold"), namespace("team-b", "tier", "gold"), namespace("team-c")}
	tests := map[string]struct {
		spec v1alpha1.RoleBaselineSpec
		snap Snapshot
		want []string
	}{
		"unmanaged ignore reports nothing": {spec: base(func(s *v1alpha1.RoleBaselineSpec) { s.Unmanaged = v1alpha1.UnmanagedIgnore }),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{role("team-a", "x", readPods)}}},
		"unmanaged report": {spec: base(nil),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{role("team-a", "x", readPods), role("team-b", "y", readPods)},
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("z", readPods)}},
			want: []string{"Unexpected Role team-a/x", "Unexpected ClusterRole z"}},
		"unmanaged remove reports too": {spec: base(func(s *v1alpha1.RoleBaselineSpec) { s.Unmanaged = v1alpha1.UnmanagedRemove }),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{role("team-a", "x", readPods)}}, want: []string{"Unexpected Role team-a/x"}},
		"namespace selector": {spec: base(func(s *v1alpha1.RoleBaselineSpec) {
			s.Scope.Namespaces = nil
			s.Scope.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
		}),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{role("team-a", "x"), role("team-b", "x"), role("team-c", "x")}},
			want: []string{"Unexpected Role team-a/x", "Unexpected Role team-b/x"}},
		"cluster-scoped off": {spec: base(func(s *v1alpha1.RoleBaselineSpec) { s.Scope.ClusterScoped = false }),
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("z")}}},
		"default exclusions": {spec: base(nil),
			snap: Snapshot{Namespaces: nsA,
				Roles:        []rbacv1.Role{role("team-a", "system:x"), labelled(role("team-a", "opted-out"), v1alpha1.IgnoreLabel, "true")},
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("admin"), clusterRole("edit"), clusterRole("view"), clusterRole("cluster-admin"), clusterRole("system:node")},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("cluster-admin", roleRef("ClusterRole", "cluster-admin"), group("system:masters")),
					clusterRoleBinding("system:basic-user", roleRef("ClusterRole", "system:basic-user"), group("system:authenticated"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "admin", roleRef("ClusterRole", "admin"), user("a"))}},
			want: []string{"Unexpected RoleBinding team-a/admin"}},
		"includeSystem": {spec: base(func(s *v1alpha1.RoleBaselineSpec) { s.Scope.Exclude.IncludeSystem = true }),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{role("team-a", "system:x"), labelled(role("team-a", "opted-out"), v1alpha1.IgnoreLabel, "true")},
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("admin")}},
			want: []string{"Unexpected Role team-a/system:x", "Unexpected Role team-a/opted-out", "Unexpected ClusterRole admin"}},
		"explicit exclusions": {spec: base(func(s *v1alpha1.RoleBaselineSpec) {
			s.Scope.Namespaces = ss("team-a", "team-b")
			s.Scope.Exclude = v1alpha1.Exclusions{Names: ss("skip"), NamePrefixes: ss("tmp-"), Namespaces: ss("team-b")}
		}),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{role("team-a", "skip"), role("team-a", "tmp-1"), role("team-a", "keep"), role("team-b", "keep")}},
			want: []string{"Unexpected Role team-a/keep"}},
		"object selector, declared always in scope": {spec: base(func(s *v1alpha1.RoleBaselineSpec) {
			s.Scope.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
			s.Roles = []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "declared", Rules: ToAPIRules(readPods)}}
		}),
			snap: Snapshot{Namespaces: nsA, Roles: []rbacv1.Role{labelled(role("team-a", "labelled"), "team", "a"), role("team-a", "other"),
				role("team-a", "declared", pr(ss(""), ss("pods"), ss("get")))}},
			want: []string{"Unexpected Role team-a/labelled", "RulesRemoved Role team-a/declared rules=list,watch pods [core]"}},
		"excluded declaration is not missing": {spec: base(func(s *v1alpha1.RoleBaselineSpec) {
			s.Scope.Exclude.Names = ss("declared")
			s.Roles = []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "declared", Rules: ToAPIRules(readPods)},
				{Kind: v1alpha1.KindClusterRole, Name: "also", Rules: ToAPIRules(readPods)}}
		}),
			snap: Snapshot{Namespaces: nsA}, want: []string{"Missing ClusterRole also"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkEvaluate(t, tc.spec, tc.snap, tc.want) })
	}
}

func TestInvalidSelectorNamesField(t *testing.T) {
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}
	for field, spec := range map[string]v1alpha1.RoleBaselineSpec{
		"spec.scope.namespaceSelector": {Scope: v1alpha1.Scope{NamespaceSelector: bad}},
		"spec.scope.objectSelector":    {Scope: v1alpha1.Scope{ClusterScoped: true, ObjectSelector: bad}},
	} {
		_, err := Evaluate(&spec, &Snapshot{}, nil)
		if err == nil || !strings.HasPrefix(err.Error(), field+": ") {
			t.Errorf("%s: got error %v", field, err)
		}
	}
}
