package webhook

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/approval"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
)

func TestExpandRule(t *testing.T) {
	tests := map[string]struct {
		rule rbacv1.PolicyRule
		ns   string
		want []string
	}{
		"verbs times resources": {rule: rbacv1.PolicyRule{APIGroups: []string{"", "apps"}, Resources: []string{"pods", "deployments"},
			Verbs: []string{"get", "list"}}, ns: "team-a",
			want: []string{"get pods in namespace team-a", "get deployments in namespace team-a", "get pods.apps in namespace team-a",
				"get deployments.apps in namespace team-a", "list pods in namespace team-a", "list deployments in namespace team-a",
				"list pods.apps in namespace team-a", "list deployments.apps in namespace team-a"}},
		"subresource and names": {rule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/log"},
			ResourceNames: []string{"a", "b"}, Verbs: []string{"get"}},
			want: []string{"get pods/log named a cluster-wide", "get pods/log named b cluster-wide"}},
		"wildcards stay wildcards": {rule: rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			want: []string{"* *.* cluster-wide"}},
		"non-resource URLs": {rule: rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics", "/healthz/*"}, Verbs: []string{"get"}},
			want: []string{"get /metrics", "get /healthz/*"}},
		"no verbs grant nothing": {rule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, a := range expandRule(tc.rule, tc.ns) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("expandRule = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExemptions(t *testing.T) {
	x := NewExemptions([]string{"", ServiceAccountUser("ops", "op")}, []string{"system:masters"}, []string{"kube-system"})
	tests := map[string]struct {
		user authenticationv1.UserInfo
		want string
	}{
		"operator ServiceAccount": {user: authenticationv1.UserInfo{Username: "system:serviceaccount:ops:op"}, want: "user system:serviceaccount:ops:op is exempt"},
		"exempt group":            {user: authenticationv1.UserInfo{Username: "root", Groups: []string{"a", "system:masters"}}, want: "group system:masters is exempt"},
		"other ServiceAccount":    {user: authenticationv1.UserInfo{Username: "system:serviceaccount:ops:other", Groups: []string{"system:serviceaccounts"}}},
		"empty user name":         {user: authenticationv1.UserInfo{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, why := x.Exempt(tc.user)
			if ok != (tc.want != "") || why != tc.want {
				t.Errorf("Exempt = %v %q, want %q", ok, why, tc.want)
			}
		})
	}
	if !x.Excluded("kube-system") || x.Excluded("default") || x.Excluded("") {
		t.Error("Excluded: want only kube-system")
	}
}

func finding(t v1alpha1.FindingType, ns, name, msg string) drift.Finding {
	return drift.NewFinding(t, drift.ObjectRef{Kind: drift.KindRole, Namespace: ns, Name: name}, msg)
}

func TestDecide(t *testing.T) {
	added := finding(v1alpha1.FindingRulesAdded, "a", "r", "Role a/r grants get secrets [core] beyond the baseline")
	guard := finding(v1alpha1.FindingGuardrailViolation, "a", "r", "Role a/r violates guardrail")
	guard.Guardrail = "wildcard-verbs"
	many := make([]drift.Finding, 12)
	for i := range many {
		many[i] = finding(v1alpha1.FindingUnexpected, "a", fmt.Sprintf("x%d", i), "in scope but not declared")
	}
	tests := map[string]struct {
		verdicts []registry.Verdict
		deny     []string // substrings of the denial; nil to allow
		warnings int
	}{
		"nothing new": {},
		"enforce denies, naming baseline, type, rule and the way out": {
			verdicts: []registry.Verdict{{Baseline: "team", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added, guard}}},
			deny: []string{"RoleBaseline team (Enforce) forbids this change: RulesAdded: Role a/r grants get secrets",
				"GuardrailViolation wildcard-verbs: ", "change the baseline first", "exempt group (system:masters)"}},
		"audit warns once per finding": {
			verdicts: []registry.Verdict{{Baseline: "team", Mode: v1alpha1.ModeAudit, Findings: []drift.Finding{added, guard}}},
			warnings: 2},
		"audit warnings are bounded": {
			verdicts: []registry.Verdict{{Baseline: "team", Mode: v1alpha1.ModeAudit, Findings: many}}, warnings: maxWarnings},
		"enforce findings are bounded": {
			verdicts: []registry.Verdict{{Baseline: "team", Mode: v1alpha1.ModeEnforce, Unmanaged: v1alpha1.UnmanagedRemove, Findings: many}},
			deny:     []string{"and 7 more"}},
		"undeclared objects warn unless unmanaged is Remove": {
			verdicts: []registry.Verdict{{Baseline: "t", Mode: v1alpha1.ModeEnforce, Unmanaged: v1alpha1.UnmanagedReport, Findings: many[:2]}},
			warnings: 2},
		"undeclared objects deny when unmanaged is Remove": {
			verdicts: []registry.Verdict{{Baseline: "t", Mode: v1alpha1.ModeEnforce, Unmanaged: v1alpha1.UnmanagedRemove, Findings: many[:2]}},
			deny:     []string{"RoleBaseline t (Enforce) forbids this change: Unexpected"}},
		"many refusing baselines are counted, not all spelled out": {
			verdicts: []registry.Verdict{{Baseline: "e1", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added}},
				{Baseline: "e2", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added}}, {Baseline: "e3", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added}},
				{Baseline: "e4", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added}}, {Baseline: "e5", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added}}},
			deny: []string{"RoleBaseline e1 (Enforce)", "RoleBaseline e3 (Enforce)", "and 2 more Enforce baseline(s)"}},
		"both modes": {
			verdicts: []registry.Verdict{{Baseline: "a", Mode: v1alpha1.ModeAudit, Findings: []drift.Finding{added}},
				{Baseline: "b", Mode: v1alpha1.ModeEnforce, Findings: []drift.Finding{added}}},
			deny: []string{"RoleBaseline b (Enforce)"}, warnings: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := decide(tc.verdicts, []string{"system:masters"})
			if (d.deny != "") != (tc.deny != nil) {
				t.Fatalf("deny = %q, want denial: %v", d.deny, tc.deny != nil)
			}
			for _, s := range tc.deny {
				if !strings.Contains(d.deny, s) {
					t.Errorf("deny = %q, want it to contain %q", d.deny, s)
				}
			}
			if len(d.warnings) != tc.warnings {
				t.Errorf("warnings = %q, want %d", d.warnings, tc.warnings)
			}
			for _, w := range d.warnings {
				if len(w) > maxTextLen {
					t.Errorf("warning longer than %d: %q", maxTextLen, w)
				}
			}
		})
	}
}

func TestClipKeepsUTF8(t *testing.T) {
	s := clip(strings.Repeat("é", maxTextLen))
	if !strings.HasSuffix(s, "...") || len(s) > maxTextLen || !strings.Contains(s, "é") {
		t.Errorf("clip = %q", s)
	}
	if !utf8Valid(s) {
		t.Errorf("clip cut a rune: %q", s)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func compiled(t *testing.T, name string, spec v1alpha1.RoleBaselineSpec) baselineScope {
	t.Helper()
	spec.Mode = v1alpha1.ModeEnforce
	sc, err := drift.CompileScope(&spec)
	if err != nil {
		t.Fatal(err)
	}
	return baselineScope{&v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, sc}
}

func TestSharedClaim(t *testing.T) {
	reader := []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "reader"}}
	prod := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	namespaces := []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"env": "prod"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}}}
	tests := map[string]struct {
		a, b v1alpha1.RoleBaselineSpec
		want string
	}{
		"same role, same namespace": {a: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"a"}}, Roles: reader},
			b: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"a", "b"}}, Roles: reader}, want: "Role a/reader"},
		"same role, disjoint namespaces": {a: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"a"}}, Roles: reader},
			b: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"b"}}, Roles: reader}},
		"listed by name against a selector": {a: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"b", "a"}}, Roles: reader},
			b: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{NamespaceSelector: prod}, Roles: reader}, want: "Role a/reader"},
		"not-yet-existing namespace listed by both": {a: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"new"}}, Roles: reader},
			b: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"new"}}, Roles: reader}, want: "Role new/reader"},
		"excluded in one": {a: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"a"}}, Roles: reader},
			b: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{NamespaceSelector: prod, Exclude: v1alpha1.Exclusions{Namespaces: []string{"a"}}}, Roles: reader}},
		"cluster role, both cluster-scoped": {
			a:    v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true}, Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "ops"}}},
			b:    v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true}, Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindClusterRole, Name: "ops"}}},
			want: "ClusterRole ops"},
		"same name, different kind": {
			a: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"a"}}, Roles: reader},
			b: v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: []string{"a"}}, Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "reader", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "reader"}}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := sharedClaim(compiled(t, "a", tc.a), compiled(t, "b", tc.b), namespaces); got != tc.want {
				t.Errorf("sharedClaim = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEffectChanged(t *testing.T) {
	base := baselineFor(v1alpha1.ModeEnforce)
	removing := base.DeepCopy()
	removing.Spec.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
	dryRun := base.DeepCopy()
	dryRun.Spec.Enforcement.DryRun = true
	tests := map[string]struct {
		old  *v1alpha1.RoleBaseline
		edit func(*v1alpha1.RoleBaseline)
		want bool
	}{
		"create":                  {old: nil, want: true},
		"switch to Enforce":       {old: baselineFor(v1alpha1.ModeAudit), want: true},
		"status-only edit":        {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Labels = map[string]string{"x": "y"} }},
		"rules changed":           {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Roles[0].Rules = nil }, want: true},
		"scope widened":           {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Scope.Namespaces = append(rb.Spec.Scope.Namespaces, "b") }, want: true},
		"unmanaged set to Remove": {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Unmanaged = v1alpha1.UnmanagedRemove }, want: true},
		"guardrails only":         {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Guardrails.Set = v1alpha1.GuardrailSetAll }},
		"journal size only":       {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.JournalLimit = 7 }},
		"violations remove subjects": {old: base, want: true,
			edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects }},
		"guardrails while removing subjects": {old: removing, want: true, edit: func(rb *v1alpha1.RoleBaseline) {
			rb.Spec.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
			rb.Spec.Guardrails.Set = v1alpha1.GuardrailSetAll
		}},
		"owned objects included": {old: base, edit: func(rb *v1alpha1.RoleBaseline) { rb.Spec.Enforcement.IncludeOwned = true }, want: true},
		"dry run switched off":   {old: dryRun, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb := base.DeepCopy()
			if tc.edit != nil {
				tc.edit(rb)
			}
			if got := effectChanged(tc.old, approval.EffectHash(&rb.Spec)); got != tc.want {
				t.Errorf("effectChanged = %v, want %v", got, tc.want)
			}
		})
	}
}

func baselineFor(mode v1alpha1.Mode) *v1alpha1.RoleBaseline {
	return &v1alpha1.RoleBaseline{Spec: v1alpha1.RoleBaselineSpec{Mode: mode, Scope: v1alpha1.Scope{Namespaces: []string{"a"}},
		Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "r", Rules: []v1alpha1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}}}}
}

func TestPlaces(t *testing.T) {
	tests := map[string]struct {
		scope v1alpha1.Scope
		want  []string
	}{
		"listed names":             {scope: v1alpha1.Scope{Namespaces: []string{"a", "b"}}, want: []string{"a", "b"}},
		"excluded name dropped":    {scope: v1alpha1.Scope{Namespaces: []string{"a", "b"}, Exclude: v1alpha1.Exclusions{Namespaces: []string{"b"}}}, want: []string{"a"}},
		"selector is cluster-wide": {scope: v1alpha1.Scope{Namespaces: []string{"a"}, NamespaceSelector: &metav1.LabelSelector{}}, want: []string{""}},
		"cluster-scoped only":      {scope: v1alpha1.Scope{ClusterScoped: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.RoleBaselineSpec{Scope: tc.scope}
			sc, err := drift.CompileScope(&spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := places(&spec, sc); !slices.Equal(got, tc.want) {
				t.Errorf("places = %q, want %q", got, tc.want)
			}
		})
	}
}
