package drift

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

func ceilingPathFindings(e *Evaluator) []Finding {
	var out []Finding
	for _, f := range e.Findings() {
		if f.Type == v1alpha1.FindingExceedsCeiling && strings.Contains(f.Message(), "can exceed its ceiling through") {
			out = append(out, f)
		}
	}
	return out
}

// TestEffectiveCeilings: a ceiling that opts into Effective is judged on what its
// subject holds through escalation paths, beyond what its own grants already exceed.
func TestEffectiveCeilings(t *testing.T) {
	admin := clusterRole("cluster-admin", pr(ss("*"), ss("*"), ss("*")))
	readSecrets := clusterRole("read-secrets", pr(ss(""), ss("secrets"), ss("get")))
	run := role("ci", "run", pr(ss(""), ss("pods"), ss("create")))
	deployer := serviceAccount("ci", "deployer")
	devRuns := roleBinding("ci", "dev", roleRef("Role", "run"), group("dev"))
	mayRun := []v1alpha1.PolicyRule{{APIGroups: ss(""), Resources: ss("pods"), Verbs: ss("create")}}
	tests := map[string]struct {
		snap    Snapshot
		subject rbacv1.Subject
		rules   []v1alpha1.PolicyRule
		judge   v1alpha1.CeilingJudge
		want    []string // in the one message; none: no finding
	}{
		"create pods holds the ServiceAccount's grants": {
			snap: Snapshot{Roles: []rbacv1.Role{run}, ClusterRoles: []rbacv1.ClusterRole{admin}, RoleBindings: []rbacv1.RoleBinding{devRuns},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("deployer-admin", roleRef("ClusterRole", "cluster-admin"), deployer)}},
			subject: group("dev"), rules: mayRun, judge: v1alpha1.CeilingEffective,
			want: []string{"Group dev can exceed its ceiling through RoleBinding ci/dev: RoleBinding ci/dev -> create pods in namespace ci -> " +
				"ServiceAccount ci/deployer -> ClusterRoleBinding deployer-admin -> ClusterRole cluster-admin grants"},
		},
		"Direct, the default, does not walk": {
			snap: Snapshot{Roles: []rbacv1.Role{run}, ClusterRoles: []rbacv1.ClusterRole{admin}, RoleBindings: []rbacv1.RoleBinding{devRuns},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("deployer-admin", roleRef("ClusterRole", "cluster-admin"), deployer)}},
			subject: group("dev"), rules: mayRun,
		},
		"what the ceiling covers is no finding": {
			snap: Snapshot{Roles: []rbacv1.Role{run}, ClusterRoles: []rbacv1.ClusterRole{readSecrets}, RoleBindings: []rbacv1.RoleBinding{devRuns},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("deployer-secrets", roleRef("ClusterRole", "read-secrets"), deployer)}},
			subject: group("dev"), judge: v1alpha1.CeilingEffective,
			rules: append(mayRun, v1alpha1.PolicyRule{APIGroups: ss(""), Resources: ss("secrets"), Verbs: ss("get")}),
		},
		"what the subject's own grants exceed with is the direct finding's": {
			snap: Snapshot{Roles: []rbacv1.Role{run}, ClusterRoles: []rbacv1.ClusterRole{readSecrets}, RoleBindings: []rbacv1.RoleBinding{devRuns},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("deployer-secrets", roleRef("ClusterRole", "read-secrets"), deployer),
					clusterRoleBinding("dev-secrets", roleRef("ClusterRole", "read-secrets"), group("dev"))}},
			subject: group("dev"), rules: mayRun, judge: v1alpha1.CeilingEffective,
		},
		"escalate is any permission in the namespace": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "esc", pr(ss(rbacv1.GroupName), ss("roles"), ss("escalate", "update")))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("ci", "eve", roleRef("Role", "esc"), user("eve"))}},
			subject: user("eve"), judge: v1alpha1.CeilingEffective,
			rules: []v1alpha1.PolicyRule{{APIGroups: ss(rbacv1.GroupName), Resources: ss("roles"), Verbs: ss("escalate", "update")}},
			want:  []string{"escalate roles in namespace ci -> any permission grants"},
		},
		"a ServiceAccount walks from its groups too": {
			// Every ServiceAccount of ci may create pods there, so ci/deployer runs as ci/builder.
			snap: Snapshot{Roles: []rbacv1.Role{run}, ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("ci", "all-run", roleRef("Role", "run"), group("system:serviceaccounts:ci"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("builder-secrets", roleRef("ClusterRole", "read-secrets"), serviceAccount("ci", "builder")),
					clusterRoleBinding("deployer-view", roleRef("ClusterRole", "read-secrets"), serviceAccount("ci", "watcher"))}},
			subject: deployer, rules: mayRun, judge: v1alpha1.CeilingEffective,
			want: []string{"ServiceAccount ci/deployer can exceed its ceiling through RoleBinding ci/all-run: RoleBinding ci/all-run -> create pods in namespace ci -> ServiceAccount ci/builder"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("ci")}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
				Subjects: []v1alpha1.SubjectCeiling{{Subject: apiSubject(tc.subject), Rules: tc.rules, Judge: tc.judge}}}
			tc.snap.Namespaces = []corev1.Namespace{namespace("ci")}
			for _, e := range []*Evaluator{loaded(t, &spec, &tc.snap, nil), incremental(t, &spec, &tc.snap)} {
				fs := ceilingPathFindings(e)
				if len(tc.want) == 0 {
					if len(fs) > 0 {
						t.Fatalf("want no path finding, got %s", fs[0].Message())
					}
					continue
				}
				if len(fs) != 1 {
					t.Fatalf("want one path finding, got %v", describeAll(fs))
				}
				for _, w := range tc.want {
					if !strings.Contains(fs[0].Message(), w) {
						t.Errorf("message lacks %q:\n%s", w, fs[0].Message())
					}
				}
			}
		})
	}
}

// TestEffectiveCeilingFollowsChanges: a grant to an identity the path reaches, made
// after the load, is judged at once, and its removal clears the finding.
func TestEffectiveCeilingFollowsChanges(t *testing.T) {
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("ci")}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
		Subjects: []v1alpha1.SubjectCeiling{{Subject: apiSubject(group("dev")), Judge: v1alpha1.CeilingEffective,
			Rules: []v1alpha1.PolicyRule{{APIGroups: ss(""), Resources: ss("pods"), Verbs: ss("create")}}}}}
	snap := &Snapshot{Namespaces: []corev1.Namespace{namespace("ci")},
		Roles:        []rbacv1.Role{role("ci", "run", pr(ss(""), ss("pods"), ss("create")))},
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("read-secrets", pr(ss(""), ss("secrets"), ss("get")))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("ci", "dev", roleRef("Role", "run"), group("dev"))}}
	e := incremental(t, &spec, snap)
	if fs := ceilingPathFindings(e); len(fs) != 0 {
		t.Fatalf("before: %s", fs[0].Message())
	}
	grant := clusterRoleBinding("deployer-secrets", roleRef("ClusterRole", "read-secrets"), serviceAccount("ci", "deployer"))
	introduced, err := e.Preview(&grant, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(introduced) != 1 || introduced[0].Object != (ObjectRef{KindRoleBinding, "ci", "dev"}) {
		t.Fatalf("preview: %v", describeAll(introduced))
	}
	if _, err := e.Upsert(&grant); err != nil {
		t.Fatal(err)
	}
	if fs := ceilingPathFindings(e); len(fs) != 1 || !strings.Contains(fs[0].Message(), "ServiceAccount ci/deployer -> ClusterRoleBinding deployer-secrets") {
		t.Fatalf("after the grant: %v", describeAll(fs))
	}
	e.Delete(ObjectRef{KindClusterRoleBinding, "", "deployer-secrets"})
	if fs := ceilingPathFindings(e); len(fs) != 0 {
		t.Fatalf("after the removal: %v", describeAll(fs))
	}
}
