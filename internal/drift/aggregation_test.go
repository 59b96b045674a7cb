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

// aggregated is a ClusterRole whose aggregationRule selects label k=v; its own rules
// are what the aggregation controller last wrote.
func aggregated(name, k, v string, own ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	cr := clusterRole(name, own...)
	cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{k: v}}}}
	return cr
}

func labelled(cr rbacv1.ClusterRole, kv ...string) rbacv1.ClusterRole {
	cr.Labels = labelsOf(kv...)
	return cr
}

const (
	toView  = "rbac.authorization.k8s.io/aggregate-to-view"
	toEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	toAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
)

// TestAggregation: Kubernetes RBAC "Aggregated ClusterRoles" (the clusterrole-
// aggregation controller, pkg/controller/clusterroleaggregation): an aggregated
// role holds the rules of every ClusterRole its selectors match, transitively.
func TestAggregation(t *testing.T) {
	only := func(ids ...v1alpha1.GuardrailID) v1alpha1.Guardrails {
		g := v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone}
		for _, id := range ids {
			g.Rules = append(g.Rules, v1alpha1.GuardrailRule{ID: id, Enabled: boolPtr(true)})
		}
		return g
	}
	cluster := v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("team-a"), Exclude: v1alpha1.Exclusions{IncludeSystem: true}}
	aggregation := only(v1alpha1.GuardrailDefaultRoleAggregation)
	readCRD := pr(ss("example.com"), ss("widgets"), ss("get", "list"))
	writeCRD := pr(ss("example.com"), ss("widgets"), ss("create", "delete"))
	secrets := pr(ss(""), ss("secrets"), ss("get"))
	bootstrap := []rbacv1.ClusterRole{
		labelled(aggregated("view", toView, "true"), toEdit, "true"),
		labelled(aggregated("edit", toEdit, "true"), toAdmin, "true"),
		aggregated("admin", toAdmin, "true"),
	}
	dev := roleBinding("team-a", "dev", roleRef("ClusterRole", "view"), group("dev"))
	tests := map[string]struct {
		guardrails v1alpha1.Guardrails
		roles      []rbacv1.ClusterRole
		bindings   []rbacv1.RoleBinding
		want       []string // describe(f) + " " + severity
		text       []string // in the messages, in order
	}{
		"read access into view is Low and names the roles and subjects": {
			guardrails: aggregation, bindings: []rbacv1.RoleBinding{dev},
			roles: append(slices.Clone(bootstrap), labelled(clusterRole("widgets-view", readCRD), toView, "true")),
			want:  []string{"GuardrailViolation ClusterRole widgets-view guardrail=default-role-aggregation rules=get,list widgets [example.com] subjects=Group dev Low"},
			text:  []string{"feeds ClusterRoles admin, edit, view, adding read access for every subject bound to them (1 in scope: Group dev)"},
		},
		"writes into edit are Medium": {
			guardrails: aggregation,
			roles:      append(slices.Clone(bootstrap), labelled(clusterRole("widgets-edit", writeCRD), toEdit, "true")),
			want:       []string{"GuardrailViolation ClusterRole widgets-edit guardrail=default-role-aggregation rules=create,delete widgets [example.com] Medium"},
			text:       []string{"feeds ClusterRoles admin, edit, adding writes for every subject bound to them (none in scope yet)"},
		},
		"a dangerous permission keeps High": {
			guardrails: aggregation,
			roles:      append(slices.Clone(bootstrap), labelled(clusterRole("peek", secrets), toView, "true")),
			want:       []string{"GuardrailViolation ClusterRole peek guardrail=default-role-aggregation rules=get secrets [core] High"},
			text:       []string{"adding a dangerous permission"},
		},
		"offline, without live default roles, the bootstrap wiring is assumed": {
			guardrails: aggregation,
			roles:      []rbacv1.ClusterRole{labelled(clusterRole("widgets-view", readCRD), toView, "true")},
			want:       []string{"GuardrailViolation ClusterRole widgets-view guardrail=default-role-aggregation rules=get,list widgets [example.com] Low"},
			text:       []string{"feeds ClusterRoles admin, edit, view"},
		},
		"an aggregated role is judged on the union it selects, not its stale rules": {
			guardrails: only(v1alpha1.GuardrailSecretsRead),
			roles: []rbacv1.ClusterRole{aggregated("monitoring", "team", "mon", readCRD),
				labelled(clusterRole("peek", secrets), "team", "mon")},
			want: []string{
				"GuardrailViolation ClusterRole monitoring guardrail=secrets-read rules=get secrets [core] High",
				"GuardrailViolation ClusterRole peek guardrail=secrets-read rules=get secrets [core] High",
			},
		},
		"selection is transitive and cycles end": {
			guardrails: only(v1alpha1.GuardrailSecretsRead),
			roles: []rbacv1.ClusterRole{
				labelled(aggregated("a", "sel", "a"), "sel", "b"),
				labelled(aggregated("b", "sel", "b"), "sel", "a"),
				labelled(clusterRole("peek", secrets), "sel", "b"),
			},
			want: []string{
				"GuardrailViolation ClusterRole a guardrail=secrets-read rules=get secrets [core] High",
				"GuardrailViolation ClusterRole b guardrail=secrets-read rules=get secrets [core] High",
				"GuardrailViolation ClusterRole peek guardrail=secrets-read rules=get secrets [core] High",
			},
		},
		"not enabled, not reported": {
			guardrails: only(v1alpha1.GuardrailSecretsRead),
			roles:      append(slices.Clone(bootstrap), labelled(clusterRole("widgets-view", readCRD), toView, "true")),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.RoleBaselineSpec{Scope: cluster, Guardrails: tc.guardrails}
			snap := &Snapshot{Namespaces: []corev1.Namespace{namespace("team-a")}, ClusterRoles: tc.roles, RoleBindings: tc.bindings}
			for _, e := range []*Evaluator{loaded(t, &spec, snap, nil), incremental(t, &spec, snap)} {
				var got, texts []string
				for _, f := range e.Findings() {
					got = append(got, describe(f)+" "+string(f.Severity))
					texts = append(texts, f.Message())
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("findings:\n got %q\nwant %q", got, tc.want)
				}
				for i, want := range tc.text {
					if !strings.Contains(texts[i], want) {
						t.Errorf("message %d %q lacks %q", i, texts[i], want)
					}
				}
			}
		})
	}
}

// TestAggregationPreview: a new ClusterRole labelled into an aggregated role is
// previewed as changing the aggregate, before the aggregation controller runs.
func TestAggregationPreview(t *testing.T) {
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a")}, Guardrails: noGuardrails,
		Subjects: []v1alpha1.SubjectCeiling{{Subject: apiSubject(group("dev")), Rules: ToAPIRules(readPods)}}}
	snap := &Snapshot{Namespaces: []corev1.Namespace{namespace("team-a")},
		ClusterRoles: []rbacv1.ClusterRole{aggregated("view", toView, "true", readPods)},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("team-a", "dev", roleRef("ClusterRole", "view"), group("dev"))}}
	e := incremental(t, &spec, snap)
	if n := e.Len(); n != 0 {
		t.Fatalf("want no finding before, got %v", describeAll(e.Findings()))
	}
	cr := labelled(clusterRole("peek", pr(ss(""), ss("secrets"), ss("get"))), toView, "true")
	got, err := e.Preview(&cr, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ExceedsCeiling RoleBinding team-a/dev subject=Group dev rules=get secrets [core]"}
	if d := describeAll(got); !slices.Equal(d, want) {
		t.Fatalf("preview: got %q, want %q", d, want)
	}
	if n := e.Len(); n != 0 {
		t.Fatalf("preview left findings behind: %v", describeAll(e.Findings()))
	}
}
