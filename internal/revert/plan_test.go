package revert

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

var (
	readPods    = v1alpha1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	readSecrets = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	devs        = v1alpha1.Subject{Kind: v1alpha1.SubjectGroup, APIGroup: v1alpha1.RBACGroup, Name: "devs"}
	mallory     = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}
	aggSelector = []metav1.LabelSelector{{MatchLabels: map[string]string{"agg": "true"}}}
)

func spec(mutate ...func(*v1alpha1.RoleBaselineSpec)) *v1alpha1.RoleBaselineSpec {
	s := &v1alpha1.RoleBaselineSpec{
		Mode:      v1alpha1.ModeEnforce,
		Scope:     v1alpha1.Scope{Namespaces: []string{"team"}, ClusterScoped: true},
		Unmanaged: v1alpha1.UnmanagedRemove,
		Roles: []v1alpha1.DesiredRole{
			{Kind: v1alpha1.KindRole, Name: "app", Rules: []v1alpha1.PolicyRule{readPods}},
			{Kind: v1alpha1.KindClusterRole, Name: "agg", AggregationRule: &v1alpha1.AggregationRule{ClusterRoleSelectors: aggSelector}},
		},
		Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "app", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "app"},
			Subjects: []v1alpha1.Subject{devs}}},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func ref(kind, ns, name string) drift.ObjectRef {
	return drift.ObjectRef{Kind: kind, Namespace: ns, Name: name}
}

func finding(t v1alpha1.FindingType, r drift.ObjectRef) drift.Finding {
	return drift.Finding{Type: t, Object: r}
}

var (
	appRole    = ref(drift.KindRole, "team", "app")
	appBinding = ref(drift.KindRoleBinding, "team", "app")
	aggRole    = ref(drift.KindClusterRole, "", "agg")
)

func liveRole(rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", ResourceVersion: "7", UID: "u1",
		Labels: map[string]string{"keep": "me"}}, Rules: rules}
}

func liveBinding(roleRef string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", ResourceVersion: "9", UID: "u2"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleRef}, Subjects: subjects}
}

func TestPlan(t *testing.T) {
	tests := map[string]struct {
		spec     *v1alpha1.RoleBaselineSpec
		findings []drift.Finding
		live     map[drift.ObjectRef]client.Object
		// wantKind is the single action's kind, "" for none.
		wantKind v1alpha1.RevertAction
		// wantDesired checks the desired object; nil skips the check.
		wantDesired client.Object
		// wantSkips is how many skips, and how many of them are by policy.
		wantSkips, wantByPolicy int
	}{
		"missing role is created as declared": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingMissing, appRole)},
			wantKind: v1alpha1.RevertCreate,
			wantDesired: &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app",
				Labels: map[string]string{ManagedByLabel: ManagedByValue}}, Rules: []rbacv1.PolicyRule{readPods.RBAC()}},
		},
		"added rules are removed in place, keeping metadata and resourceVersion": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingRulesAdded, appRole)},
			live:     map[drift.ObjectRef]client.Object{appRole: liveRole(readPods.RBAC(), readSecrets)},
			wantKind: v1alpha1.RevertUpdate,
			wantDesired: &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", ResourceVersion: "7", UID: "u1",
				Labels: map[string]string{"keep": "me"}}, Rules: []rbacv1.PolicyRule{readPods.RBAC()}},
		},
		"rules added and removed on one role make one update": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingRulesAdded, appRole), finding(v1alpha1.FindingRulesRemoved, appRole)},
			live:     map[drift.ObjectRef]client.Object{appRole: liveRole(readSecrets)},
			wantKind: v1alpha1.RevertUpdate,
		},
		"subjects are restored in place": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingSubjectsAdded, appBinding)},
			live:     map[drift.ObjectRef]client.Object{appBinding: liveBinding("app", devs.RBAC(), mallory)},
			wantKind: v1alpha1.RevertUpdate,
			wantDesired: &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", ResourceVersion: "9", UID: "u2"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app"}, Subjects: []rbacv1.Subject{devs.RBAC()}},
		},
		"a changed roleRef is recreated, and wins over subject drift": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingSubjectsAdded, appBinding), finding(v1alpha1.FindingRoleRefChanged, appBinding)},
			live:     map[drift.ObjectRef]client.Object{appBinding: liveBinding("other", mallory)},
			wantKind: v1alpha1.RevertRecreate,
			wantDesired: &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app"}, Subjects: []rbacv1.Subject{devs.RBAC()}},
		},
		"unexpected objects are deleted with unmanaged Remove": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingUnexpected, ref(drift.KindRole, "team", "extra"))},
			live:     map[drift.ObjectRef]client.Object{ref(drift.KindRole, "team", "extra"): liveRole()},
			wantKind: v1alpha1.RevertDelete,
		},
		"unexpected objects are only reported with unmanaged Report": {
			spec:      spec(func(s *v1alpha1.RoleBaselineSpec) { s.Unmanaged = v1alpha1.UnmanagedReport }),
			findings:  []drift.Finding{finding(v1alpha1.FindingUnexpected, ref(drift.KindRole, "team", "extra"))},
			live:      map[drift.ObjectRef]client.Object{ref(drift.KindRole, "team", "extra"): liveRole()},
			wantSkips: 1, wantByPolicy: 1,
		},
		"an aggregated ClusterRole gets its aggregationRule back, its rules untouched": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingRulesAdded, aggRole)},
			live: map[drift.ObjectRef]client.Object{aggRole: &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg"},
				Rules: []rbacv1.PolicyRule{readSecrets}}},
			wantKind: v1alpha1.RevertUpdate,
			wantDesired: &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, Rules: []rbacv1.PolicyRule{readSecrets},
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: aggSelector}},
		},
		"violations are reported only by default": {
			spec:      spec(),
			findings:  []drift.Finding{{Type: v1alpha1.FindingGuardrailViolation, Object: appBinding, Subjects: []rbacv1.Subject{mallory}}},
			live:      map[drift.ObjectRef]client.Object{appBinding: liveBinding("app", devs.RBAC(), mallory)},
			wantSkips: 1, wantByPolicy: 1,
		},
		"RemoveSubjects drops the violating subject and keeps the rest": {
			spec: spec(func(s *v1alpha1.RoleBaselineSpec) {
				s.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
				s.Bindings = nil
			}),
			findings: []drift.Finding{{Type: v1alpha1.FindingGuardrailViolation, Object: appBinding, Subjects: []rbacv1.Subject{mallory}}},
			live:     map[drift.ObjectRef]client.Object{appBinding: liveBinding("app", devs.RBAC(), mallory)},
			wantKind: v1alpha1.RevertUpdate,
			wantDesired: &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", ResourceVersion: "9", UID: "u2"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app"}, Subjects: []rbacv1.Subject{devs.RBAC()}},
		},
		"a ceiling reached through a group is not trimmed": {
			spec: spec(func(s *v1alpha1.RoleBaselineSpec) {
				s.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects
				s.Bindings = nil
			}),
			findings: []drift.Finding{{Type: v1alpha1.FindingExceedsCeiling, Object: appBinding,
				Subject: &rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}},
			live:      map[drift.ObjectRef]client.Object{appBinding: liveBinding("app", devs.RBAC())},
			wantSkips: 1,
		},
		"objects another controller owns are left alone": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingRulesAdded, appRole)},
			live: map[drift.ObjectRef]client.Object{appRole: func() client.Object {
				r := liveRole(readSecrets)
				r.OwnerReferences = []metav1.OwnerReference{{Kind: "Deployment", Name: "x", Controller: ptr(true)}}
				return r
			}()},
			wantSkips: 1,
		},
		"owned objects are reverted with includeOwned": {
			spec:     spec(func(s *v1alpha1.RoleBaselineSpec) { s.Enforcement.IncludeOwned = true }),
			findings: []drift.Finding{finding(v1alpha1.FindingRulesAdded, appRole)},
			live: map[drift.ObjectRef]client.Object{appRole: func() client.Object {
				r := liveRole(readSecrets)
				r.OwnerReferences = []metav1.OwnerReference{{Kind: "Deployment", Name: "x", Controller: ptr(true)}}
				return r
			}()},
			wantKind: v1alpha1.RevertUpdate,
		},
		"bootstrap RBAC the API server reconciles is left alone": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingRulesAdded, appRole)},
			live: map[drift.ObjectRef]client.Object{appRole: func() client.Object {
				r := liveRole(readSecrets)
				r.Annotations = map[string]string{"rbac.authorization.kubernetes.io/autoupdate": "true"}
				return r
			}()},
			wantSkips: 1,
		},
		"system: objects are left alone": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingUnexpected, ref(drift.KindClusterRole, "", "system:thing"))},
			live: map[drift.ObjectRef]client.Object{ref(drift.KindClusterRole, "", "system:thing"): &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: "system:thing"}}},
			wantSkips: 1,
		},
		"advisory findings are never reverted": {
			spec: spec(), findings: []drift.Finding{finding(v1alpha1.FindingUnusedPermission, appRole)},
			live:      map[drift.ObjectRef]client.Object{appRole: liveRole(readPods.RBAC())},
			wantSkips: 1, wantByPolicy: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			actions, skips := Plan(tc.spec, tc.findings, func(r drift.ObjectRef) client.Object { return tc.live[r] })
			if tc.wantKind == "" {
				if len(actions) != 0 {
					t.Fatalf("want no action, got %+v", actions)
				}
			} else {
				if len(actions) != 1 || actions[0].Kind != tc.wantKind {
					t.Fatalf("want one %s action, got %+v", tc.wantKind, actions)
				}
				if tc.wantDesired != nil && !equality.Semantic.DeepEqual(actions[0].Desired, tc.wantDesired) {
					t.Errorf("desired object:\n got %+v\nwant %+v", actions[0].Desired, tc.wantDesired)
				}
				if len(actions[0].Findings) != len(tc.findings)-len(skips) {
					t.Errorf("action reverts %d findings, want %d", len(actions[0].Findings), len(tc.findings)-len(skips))
				}
			}
			byPolicy := 0
			for _, s := range skips {
				if s.Reason == "" {
					t.Errorf("skip without a reason: %+v", s)
				}
				if s.ByPolicy {
					byPolicy++
				}
			}
			if len(skips) != tc.wantSkips || byPolicy != tc.wantByPolicy {
				t.Errorf("skips = %d (%d by policy), want %d (%d): %+v", len(skips), byPolicy, tc.wantSkips, tc.wantByPolicy, skips)
			}
		})
	}
}

func TestPlanDoesNotModifyLiveObjects(t *testing.T) {
	live := liveBinding("app", devs.RBAC(), mallory)
	before := live.DeepCopy()
	s := spec(func(s *v1alpha1.RoleBaselineSpec) { s.Enforcement.Violations = v1alpha1.ViolationRemoveSubjects })
	Plan(s, []drift.Finding{finding(v1alpha1.FindingSubjectsAdded, appBinding),
		{Type: v1alpha1.FindingGuardrailViolation, Object: appBinding, Subjects: []rbacv1.Subject{mallory}}},
		func(drift.ObjectRef) client.Object { return live })
	if !equality.Semantic.DeepEqual(live, before) {
		t.Fatalf("Plan modified the cached object:\n got %+v\nwant %+v", live, before)
	}
}

func ptr[T any](v T) *T { return &v }
