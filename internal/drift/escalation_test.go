package drift

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// pathsOnly applies every guardrail: a path is judged by the guardrails it reaches.
// The tests look at the escalation-path findings alone.
var pathsOnly = v1alpha1.Guardrails{}

func escalationFindings(e *Evaluator) []Finding {
	var out []Finding
	for _, f := range e.Findings() {
		if f.Guardrail == v1alpha1.GuardrailEscalationPath {
			out = append(out, f)
		}
	}
	return out
}

// TestEscalationPaths: one small world per kind of step (Kubernetes RBAC good
// practices, "Privilege escalation risks": workload creation, ServiceAccount tokens,
// impersonation, bind, escalate, nodes/proxy, CSR approval).
func TestEscalationPaths(t *testing.T) {
	admin := clusterRole("cluster-admin", pr(ss("*"), ss("*"), ss("*")))
	readSecrets := clusterRole("read-secrets", pr(ss(""), ss("secrets"), ss("get", "list")))
	deployer := serviceAccount("ci", "deployer")
	crb := func(name, role string, s ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
		return clusterRoleBinding(name, roleRef("ClusterRole", role), s...)
	}
	rb := func(ns, name, role string, s ...rbacv1.Subject) rbacv1.RoleBinding {
		return roleBinding(ns, name, roleRef("Role", role), s...)
	}
	named := func(group, resource, verb string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: ss(group), Resources: ss(resource), Verbs: ss(verb), ResourceNames: names}
	}
	tests := map[string]struct {
		snap     Snapshot
		severity v1alpha1.Severity
		want     []string // in the message, in order; none: no finding
	}{
		"create pods runs as a ServiceAccount of the namespace": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "run", pr(ss(""), ss("pods"), ss("create")))}, ClusterRoles: []rbacv1.ClusterRole{admin},
				RoleBindings:        []rbacv1.RoleBinding{rb("ci", "dev", "run", group("dev"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("deployer-admin", "cluster-admin", deployer)}},
			severity: v1alpha1.SeverityCritical,
			want: []string{"Group dev reaches escalation-verbs", "in every namespace",
				"RoleBinding ci/dev -> create pods in namespace ci -> ServiceAccount ci/deployer -> ClusterRoleBinding deployer-admin -> ClusterRole cluster-admin"},
		},
		"a CronJob is a workload too": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "run", pr(ss("batch"), ss("cronjobs"), ss("create")))}, ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings:        []rbacv1.RoleBinding{rb("ci", "dev", "run", group("dev"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("deployer-secrets", "read-secrets", deployer)}},
			severity: v1alpha1.SeverityHigh, want: []string{"reaches secrets-read"},
		},
		"a token of a named ServiceAccount only": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "mint", named("", "serviceaccounts/token", "create", "other"))}, ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings:        []rbacv1.RoleBinding{rb("ci", "alice", "mint", user("alice"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("deployer-secrets", "read-secrets", deployer)}},
		},
		"a token of the ServiceAccount": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "mint", named("", "serviceaccounts/token", "create", "deployer"))}, ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings:        []rbacv1.RoleBinding{rb("ci", "alice", "mint", user("alice"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("deployer-secrets", "read-secrets", deployer)}},
			severity: v1alpha1.SeverityHigh,
			want:     []string{"create serviceaccounts/token in namespace ci (deployer) -> ServiceAccount ci/deployer"},
		},
		"impersonating a user": {
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{readSecrets, clusterRole("as-carol", named("", "users", "impersonate", "carol"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("bob", "as-carol", user("bob")), crb("carol", "read-secrets", user("carol"))}},
			severity: v1alpha1.SeverityHigh, want: []string{"impersonate users in every namespace (carol) -> User carol -> ClusterRoleBinding carol"},
		},
		"impersonating system:masters is everything": {
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("as-masters", named("", "groups", "impersonate", "system:masters"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("bob", "as-masters", user("bob"))}},
			severity: v1alpha1.SeverityHigh, want: []string{"Group system:masters"}, // impersonation is escalation-verbs already
		},
		"bind any role in a namespace": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "binder", pr(ss(rbacv1.GroupName), ss("roles"), ss("bind")), pr(ss(rbacv1.GroupName), ss("rolebindings"), ss("create")))},
				RoleBindings: []rbacv1.RoleBinding{rb("ci", "dan", "binder", user("dan"))}},
			severity: v1alpha1.SeverityHigh, want: []string{"in namespace ci", "bind roles in namespace ci"},
		},
		"bind without creating bindings is no step": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "binder", pr(ss(rbacv1.GroupName), ss("roles"), ss("bind")))},
				RoleBindings: []rbacv1.RoleBinding{rb("ci", "dan", "binder", user("dan"))}},
		},
		"bind one named role": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "binder", named(rbacv1.GroupName, "clusterroles", "bind", "read-secrets"), pr(ss(rbacv1.GroupName), ss("rolebindings"), ss("create")))},
				ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings: []rbacv1.RoleBinding{rb("ci", "dan", "binder", user("dan"))}},
			severity: v1alpha1.SeverityHigh, want: []string{"reaches secrets-read", "in namespace ci", "bind roles in namespace ci (read-secrets) -> ClusterRole read-secrets"},
		},
		"escalate and write roles": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "esc", pr(ss(rbacv1.GroupName), ss("roles"), ss("escalate", "update")))},
				RoleBindings: []rbacv1.RoleBinding{rb("ci", "eve", "esc", user("eve"))}},
			severity: v1alpha1.SeverityHigh, want: []string{"escalate roles in namespace ci"},
		},
		"nodes/proxy reaches every ServiceAccount": {
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{readSecrets, clusterRole("kubelet", pr(ss(""), ss("nodes/proxy"), ss("get")))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("mon", "kubelet", user("mon")), crb("deployer-secrets", "read-secrets", deployer)}},
			severity: v1alpha1.SeverityHigh, want: []string{"nodes/proxy (kubelet exec) in every namespace -> ServiceAccount ci/deployer"},
		},
		"CSR approval for client certificates is everything": {
			snap: Snapshot{ClusterRoles: []rbacv1.ClusterRole{clusterRole("approver",
				pr(ss("certificates.k8s.io"), ss("certificatesigningrequests"), ss("create")),
				pr(ss("certificates.k8s.io"), ss("certificatesigningrequests/approval"), ss("update")),
				named("certificates.k8s.io", "signers", "approve", "kubernetes.io/kube-apiserver-client"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("csr", "approver", user("ops"))}},
			severity: v1alpha1.SeverityCritical, want: []string{"approve client certificates in every namespace"},
		},
		"what the subject holds itself is no escalation": {
			snap: Snapshot{Roles: []rbacv1.Role{role("ci", "run", pr(ss(""), ss("pods"), ss("create")))}, ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings:        []rbacv1.RoleBinding{rb("ci", "dev", "run", group("dev"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("deployer-secrets", "read-secrets", deployer), crb("dev-secrets", "read-secrets", group("dev"))}},
		},
		"cycles end": {
			// b/x runs pods in a as a/y, who runs pods in b: as b/x again, where the path stops.
			snap: Snapshot{Roles: []rbacv1.Role{role("a", "run", pr(ss(""), ss("pods"), ss("create"))), role("b", "run", pr(ss(""), ss("pods"), ss("create")))},
				RoleBindings: []rbacv1.RoleBinding{rb("a", "x", "run", serviceAccount("b", "x")), rb("b", "y", "run", serviceAccount("a", "y"))}},
			severity: v1alpha1.SeverityMedium,
			want: []string{"ServiceAccount b/x reaches workload-create in namespace b",
				"RoleBinding a/x -> create pods in namespace a -> ServiceAccount a/y -> RoleBinding b/y -> Role b/run"},
		},
		"paths are bounded": {
			// u -> a/s1 -> b/s2 -> c/s3 -> d/s4 (secrets): four steps, one past the bound.
			snap: Snapshot{Roles: []rbacv1.Role{role("a", "run", pr(ss(""), ss("pods"), ss("create"))), role("b", "run", pr(ss(""), ss("pods"), ss("create"))),
				role("c", "run", pr(ss(""), ss("pods"), ss("create"))), role("d", "run", pr(ss(""), ss("pods"), ss("create")))},
				ClusterRoles: []rbacv1.ClusterRole{readSecrets},
				RoleBindings: []rbacv1.RoleBinding{rb("a", "u", "run", user("u")), rb("b", "s1", "run", serviceAccount("a", "s1")),
					rb("c", "s2", "run", serviceAccount("b", "s2")), rb("d", "s3", "run", serviceAccount("c", "s3"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("s4", "read-secrets", serviceAccount("d", "s4"))}},
			severity: v1alpha1.SeverityHigh, want: []string{"User u reaches"}, // through s1 and s2: s2 reaches s3, not s4
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("ci", "a", "b", "c", "d")}, Guardrails: pathsOnly}
			for _, ns := range []string{"ci", "a", "b", "c", "d"} {
				tc.snap.Namespaces = append(tc.snap.Namespaces, corev1.Namespace{ObjectMeta: namespace(ns).ObjectMeta})
			}
			for _, e := range []*Evaluator{loaded(t, &spec, &tc.snap, nil), incremental(t, &spec, &tc.snap)} {
				fs := escalationFindings(e)
				if len(tc.want) == 0 {
					if len(fs) > 0 {
						t.Fatalf("want no escalation, got %s", fs[0].Message())
					}
					continue
				}
				var msgs []string
				for _, f := range fs {
					msgs = append(msgs, f.Message())
				}
				all := strings.Join(msgs, "\n")
				for _, w := range tc.want {
					if !strings.Contains(all, w) {
						t.Errorf("messages lack %q:\n%s", w, all)
					}
				}
				if len(fs) > 0 && fs[0].Severity != tc.severity {
					t.Errorf("severity %s, want %s: %s", fs[0].Severity, tc.severity, fs[0].Message())
				}
			}
		})
	}
}

// TestEscalationFollowsChanges: a change to an identity a path goes through re-judges
// the subject the path starts from, and Preview shows it before it is made.
func TestEscalationFollowsChanges(t *testing.T) {
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("ci")}, Guardrails: pathsOnly}
	snap := &Snapshot{Namespaces: []corev1.Namespace{namespace("ci")},
		Roles:        []rbacv1.Role{role("ci", "run", pr(ss(""), ss("pods"), ss("create")))},
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("read-secrets", pr(ss(""), ss("secrets"), ss("get")))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("ci", "dev", roleRef("Role", "run"), group("dev")),
			roleBinding("ci", "deployer", roleRef("Role", "run"), serviceAccount("ci", "deployer"))}}
	e := incremental(t, &spec, snap)
	if fs := escalationFindings(e); len(fs) != 0 {
		t.Fatalf("before: %s", fs[0].Message())
	}
	grant := clusterRoleBinding("deployer-secrets", roleRef("ClusterRole", "read-secrets"), serviceAccount("ci", "deployer"))
	introduced, err := e.Preview(&grant, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(introduced) != 1 || introduced[0].Subject.Name != "dev" || !strings.Contains(introduced[0].Message(), "ServiceAccount ci/deployer") {
		t.Fatalf("preview: %v", describeAll(introduced))
	}
	if fs := escalationFindings(e); len(fs) != 0 {
		t.Fatalf("the preview stayed: %s", fs[0].Message())
	}
	if _, err := e.Upsert(&grant); err != nil {
		t.Fatal(err)
	}
	fs := escalationFindings(e)
	if len(fs) != 1 || fs[0].Object != (ObjectRef{KindRoleBinding, "ci", "dev"}) {
		t.Fatalf("after the grant: %v", describeAll(fs))
	}
	if got := e.ObjectFindings(ObjectRef{KindRoleBinding, "ci", "dev"}); len(got) != 1 {
		t.Fatalf("ObjectFindings of the path's first binding: %v", describeAll(got))
	}
	// The role the path goes through loses the permission.
	readNothing := clusterRole("read-secrets", pr(ss(""), ss("configmaps"), ss("get")))
	if _, err := e.Upsert(&readNothing); err != nil {
		t.Fatal(err)
	}
	if fs := escalationFindings(e); len(fs) != 0 {
		t.Fatalf("after the role lost secrets: %s", fs[0].Message())
	}
}

// TestEscalationFollowsNamedSteps: a path through a named identity (a token of one
// ServiceAccount, an impersonated user) follows that identity's changes.
func TestEscalationFollowsNamedSteps(t *testing.T) {
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("ci")}, Guardrails: pathsOnly}
	mint := rbacv1.PolicyRule{APIGroups: ss(""), Resources: ss("serviceaccounts/token"), Verbs: ss("create"), ResourceNames: ss("deployer")}
	asCarol := rbacv1.PolicyRule{APIGroups: ss(""), Resources: ss("users"), Verbs: ss("impersonate"), ResourceNames: ss("carol")}
	snap := &Snapshot{Namespaces: []corev1.Namespace{namespace("ci")},
		Roles: []rbacv1.Role{role("ci", "mint", mint), role("ci", "run", pr(ss(""), ss("configmaps"), ss("get")))},
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("read-secrets", pr(ss(""), ss("secrets"), ss("get"))),
			clusterRole("as-carol", asCarol), clusterRole("nothing", pr(ss(""), ss("configmaps"), ss("get")))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("ci", "alice", roleRef("Role", "mint"), user("alice")),
			roleBinding("ci", "deployer", roleRef("Role", "run"), serviceAccount("ci", "deployer"))},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("bob", roleRef("ClusterRole", "as-carol"), user("bob")),
			clusterRoleBinding("carol", roleRef("ClusterRole", "nothing"), user("carol"))}}
	e := incremental(t, &spec, snap)
	if fs := escalationFindings(e); len(fs) != 0 {
		t.Fatalf("before: %s", fs[0].Message())
	}
	for _, grant := range []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("deployer-secrets", roleRef("ClusterRole", "read-secrets"), serviceAccount("ci", "deployer")),
		clusterRoleBinding("carol", roleRef("ClusterRole", "read-secrets"), user("carol")),
	} {
		if _, err := e.Upsert(&grant); err != nil {
			t.Fatal(err)
		}
	}
	var who []string
	for _, f := range escalationFindings(e) {
		who = append(who, f.Subject.Name)
	}
	if strings.Join(who, ",") != "bob,alice" && strings.Join(who, ",") != "alice,bob" {
		t.Fatalf("after the grants, want alice (token) and bob (impersonation): %v", describeAll(escalationFindings(e)))
	}
}

func TestCatalogFitsPlaces(t *testing.T) {
	if len(catalogIDs) > maxCatalog {
		t.Fatalf("the catalog has %d rules; raise maxCatalog to hold them", len(catalogIDs))
	}
}
