package drift

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func TestEvaluateCeilings(t *testing.T) {
	alice, bot := user("alice"), serviceAccount("team-a", "bot")
	ceilingSpec := func(s rbacv1.Subject, rules ...rbacv1.PolicyRule) v1alpha1.RoleBaselineSpec {
		return v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a"), ClusterScoped: true}, Guardrails: noGuardrails,
			Subjects: []v1alpha1.SubjectCeiling{{Subject: apiSubject(s), Rules: ToAPIRules(rules...)}}}
	}
	nss := []corev1.Namespace{namespace("team-a"), namespace("team-b")}
	podsAll := pr(ss(""), ss("pods"), ss("get", "list", "watch", "delete"))
	tests := map[string]struct {
		spec v1alpha1.RoleBaselineSpec
		snap Snapshot
		want []string
	}{
		"within ceiling": {spec: ceilingSpec(alice, pr(ss(""), ss("*"), ss("get", "list", "watch"))),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-a", "r", readPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("Role", "r"), alice)}}},
		"direct binding beyond": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-a", "r", podsAll)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("Role", "r"), alice)}},
			want: []string{"ExceedsCeiling RoleBinding team-a/b subject=User alice rules=delete pods [core]"}},
		"through system:authenticated": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("wide", pr(ss(""), ss("configmaps"), ss("get")))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("all", roleRef("ClusterRole", "wide"), group("system:authenticated"))}},
			want: []string{"ExceedsCeiling ClusterRoleBinding all subject=User alice rules=get configmaps [core]"}},
		"serviceaccount through its namespace group": {spec: ceilingSpec(bot),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-a", "r", readPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("Role", "r"), group("system:serviceaccounts:team-a"))}},
			want: []string{"ExceedsCeiling RoleBinding team-a/b subject=ServiceAccount team-a/bot rules=get,list,watch pods [core]"}},
		"serviceaccount of another namespace group": {spec: ceilingSpec(bot),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-a", "r", readPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("Role", "r"), group("system:serviceaccounts:team-b"))}}},
		"serviceaccount named without namespace on its RoleBinding": {spec: ceilingSpec(bot),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-a", "r", readPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("Role", "r"), rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"})}},
			want: []string{"ExceedsCeiling RoleBinding team-a/b subject=ServiceAccount team-a/bot rules=get,list,watch pods [core]"}},
		"excluded bootstrap role still grants": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{Namespaces: nss, ClusterRoles: []rbacv1.ClusterRole{clusterRole("edit", podsAll)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("ClusterRole", "edit"), alice)}},
			want: []string{"ExceedsCeiling RoleBinding team-a/b subject=User alice rules=delete pods [core]"}},
		"RoleBinding cannot grant nonResourceURLs": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{Namespaces: nss, ClusterRoles: []rbacv1.ClusterRole{clusterRole("c", readPods, urlRule(ss("/metrics"), ss("get")))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("ClusterRole", "c"), alice)}}},
		"ClusterRoleBinding grants nonResourceURLs": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("c", readPods, urlRule(ss("/metrics"), ss("get")))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("b", roleRef("ClusterRole", "c"), alice)}},
			want: []string{"ExceedsCeiling ClusterRoleBinding b subject=User alice rules=get /metrics"}},
		"binding out of scope": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-b", "r", podsAll)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-b", "b", roleRef("Role", "r"), alice)}}},
		"one finding per granting binding": {spec: ceilingSpec(alice, readPods),
			snap: Snapshot{Namespaces: nss, Roles: []rbacv1.Role{role("team-a", "r", podsAll)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b1", roleRef("Role", "r"), alice), roleBinding("team-a", "b2", roleRef("Role", "r"), group("system:authenticated"), alice)}},
			want: []string{"ExceedsCeiling RoleBinding team-a/b1 subject=User alice rules=delete pods [core]",
				"ExceedsCeiling RoleBinding team-a/b2 subject=User alice rules=delete pods [core]"}},
		"role missing grants nothing": {spec: ceilingSpec(alice),
			snap: Snapshot{Namespaces: nss, RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "b", roleRef("Role", "gone"), alice)}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkEvaluate(t, tc.spec, tc.snap, tc.want) })
	}
}

func TestEvaluateGuardrails(t *testing.T) {
	secrets := pr(ss(""), ss("secrets"), ss("get"))
	snap := Snapshot{Namespaces: []corev1.Namespace{namespace("team-a")},
		Roles: []rbacv1.Role{role("team-a", "reader", secrets), role("team-a", "fine", readPods)},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "root", roleRef("ClusterRole", "cluster-admin"), user("alice"), user("ops")),
			roleBinding("team-a", "open", roleRef("Role", "fine"), group("system:unauthenticated"))}}
	spec := func(g v1alpha1.Guardrails) v1alpha1.RoleBaselineSpec {
		return v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a")}, Guardrails: g}
	}
	all := []string{
		"GuardrailViolation Role team-a/reader guardrail=secrets-read rules=get secrets [core]",
		"GuardrailViolation RoleBinding team-a/root guardrail=cluster-admin-binding subjects=User alice, User ops",
		"GuardrailViolation RoleBinding team-a/open guardrail=anonymous-binding subjects=Group system:unauthenticated",
	}
	tests := map[string]struct {
		guardrails v1alpha1.Guardrails
		want       []string
		severity   map[string]v1alpha1.Severity
	}{
		// A RoleBinding grants cluster-admin in its namespace only: High, not Critical.
		// The unauthenticated group is bound to a Role that reads pods: High.
		"all by default": {want: all, severity: map[string]v1alpha1.Severity{"team-a/reader": v1alpha1.SeverityHigh, "team-a/root": v1alpha1.SeverityHigh, "team-a/open": v1alpha1.SeverityHigh}},
		"none":           {guardrails: noGuardrails},
		"none plus one listed": {guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone,
			Rules: []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailSecretsRead, Enabled: boolPtr(true)}}}, want: all[:1]},
		"one disabled": {guardrails: v1alpha1.Guardrails{Rules: []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailSecretsRead, Enabled: boolPtr(false)}}}, want: all[1:]},
		"severity override": {guardrails: v1alpha1.Guardrails{Rules: []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailSecretsRead, Severity: v1alpha1.SeverityLow}}},
			want: all, severity: map[string]v1alpha1.Severity{"team-a/reader": v1alpha1.SeverityLow}},
		"exception by object": {guardrails: v1alpha1.Guardrails{Exceptions: []v1alpha1.GuardrailException{
			{Guardrails: []v1alpha1.GuardrailID{v1alpha1.GuardrailSecretsRead}, Kind: "Role", Namespace: "team-a", Name: "reader", Reason: "r"}}}, want: all[1:]},
		"exception for another guardrail does not apply": {guardrails: v1alpha1.Guardrails{Exceptions: []v1alpha1.GuardrailException{
			{Guardrails: []v1alpha1.GuardrailID{v1alpha1.GuardrailWildcardAccess}, Name: "reader", Reason: "r"}}}, want: all},
		"exception with a mismatching field does not apply": {guardrails: v1alpha1.Guardrails{Exceptions: []v1alpha1.GuardrailException{
			{Kind: "ClusterRole", Name: "reader", Reason: "r"}}}, want: all},
		"exception by subject": {guardrails: v1alpha1.Guardrails{Exceptions: []v1alpha1.GuardrailException{
			{Guardrails: []v1alpha1.GuardrailID{v1alpha1.GuardrailClusterAdminBinding}, Subjects: apiSubjects(user("ops")), Reason: "r"}}},
			want: []string{all[0], "GuardrailViolation RoleBinding team-a/root guardrail=cluster-admin-binding subjects=User alice", all[2]}},
		"subject exception does not exempt a role": {guardrails: v1alpha1.Guardrails{Exceptions: []v1alpha1.GuardrailException{
			{Subjects: apiSubjects(user("alice")), Name: "reader", Reason: "r"}}}, want: all},
		"exception for every guardrail of an object": {guardrails: v1alpha1.Guardrails{Exceptions: []v1alpha1.GuardrailException{
			{Kind: "RoleBinding", Name: "root", Reason: "r"}}}, want: []string{all[0], all[2]}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := spec(tc.guardrails)
			checkEvaluate(t, s, snap, tc.want)
			got, _ := Evaluate(&s, &snap, nil)
			for _, f := range got {
				if want, ok := tc.severity[f.Object.Namespace+"/"+f.Object.Name]; ok && f.Severity != want {
					t.Errorf("%s: severity %s, want %s", describe(f), f.Severity, want)
				}
			}
		})
	}
}

func TestGuardrailViolationOnDeclaredRole(t *testing.T) {
	// Declaring a dangerous role does not exempt it: exceptions do.
	wild := pr(ss("*"), ss("*"), ss("*"))
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true},
		Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone, Rules: []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailWildcardAccess}}},
		Roles:      []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "god", Rules: ToAPIRules(wild)}}}
	snap := Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("god", wild)}}
	checkEvaluate(t, spec, snap, []string{"GuardrailViolation ClusterRole god guardrail=wildcard-access rules=* * [*]"})
}

func TestToAPICaps(t *testing.T) {
	var rules []rbacv1.PolicyRule
	var subjects []rbacv1.Subject
	for i := 0; i < 15; i++ {
		rules = append(rules, pr(ss(""), ss("r"+string(rune('a'+i))), ss("get")))
		subjects = append(subjects, user(string(rune('a'+i))))
	}
	f := Finding{Type: v1alpha1.FindingRulesAdded, Object: ObjectRef{KindRole, "ns", "r"}, Severity: v1alpha1.SeverityHigh,
		Rules: rules, Subjects: subjects, text: strings.Repeat("é", 1000)}
	a := f.ToAPI()
	if len(a.Rules) != MaxFindingRules || len(a.Subjects) != MaxFindingSubjects {
		t.Errorf("rules %d subjects %d", len(a.Rules), len(a.Subjects))
	}
	if len(a.Message) > MaxMessageLength || !strings.HasSuffix(a.Message, "...") {
		t.Errorf("message of %d bytes, suffix %q", len(a.Message), a.Message[len(a.Message)-5:])
	}
	short := Finding{Type: v1alpha1.FindingRulesAdded, Rules: rules, text: "m"}
	if m := short.ToAPI().Message; m != "m (5 more rules not listed)" {
		t.Errorf("message %q", m)
	}
	out, omitted := ToAPI([]Finding{f, f, f}, 2)
	if len(out) != 2 || omitted != 1 {
		t.Errorf("ToAPI: %d findings, %d omitted", len(out), omitted)
	}
}

func TestSortOrder(t *testing.T) {
	fs := []Finding{
		{Type: v1alpha1.FindingRulesRemoved, Severity: v1alpha1.SeverityLow, Object: ObjectRef{KindRole, "a", "x"}},
		{Type: v1alpha1.FindingGuardrailViolation, Severity: v1alpha1.SeverityCritical, Object: ObjectRef{KindRole, "a", "x"}, Guardrail: "b"},
		{Type: v1alpha1.FindingGuardrailViolation, Severity: v1alpha1.SeverityCritical, Object: ObjectRef{KindRole, "a", "x"}, Guardrail: "a"},
		{Type: v1alpha1.FindingRulesAdded, Severity: v1alpha1.SeverityHigh, Object: ObjectRef{KindRole, "b", "x"}},
		{Type: v1alpha1.FindingMissing, Severity: v1alpha1.SeverityHigh, Object: ObjectRef{KindRoleBinding, "a", "x"}},
		{Type: v1alpha1.FindingMissing, Severity: v1alpha1.SeverityHigh, Object: ObjectRef{KindRole, "a", "x"}},
	}
	SortFindings(fs)
	want := []string{"GuardrailViolation Role a/x guardrail=a", "GuardrailViolation Role a/x guardrail=b", "Missing Role a/x",
		"Missing RoleBinding a/x", "RulesAdded Role b/x", "RulesRemoved Role a/x"}
	if got := describeAll(fs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("order\n%v\nwant\n%v", got, want)
	}
	c := Count(fs)
	if c.Drifts != 4 || c.Violations != 2 || c.ByType[v1alpha1.FindingMissing] != 2 {
		t.Errorf("counts %+v", c)
	}
}
