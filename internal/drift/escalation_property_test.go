package drift

import (
	"math/rand"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// stepWorld draws RBAC dense in steps: a few identities, roles that create pods, mint
// tokens, impersonate, bind or grant much, and bindings among them, so that paths of
// every length and cycles are common (the general generator seldom makes one).
type stepWorld struct{ r *rand.Rand }

var (
	stepIdentities = []rbacv1.Subject{user("u0"), user("u1"), group("g0"), serviceAccount("ns0", "sa0"),
		serviceAccount("ns0", "sa1"), serviceAccount("ns1", "sa0"), group("system:serviceaccounts:ns0")}
	stepRoles = map[string][]rbacv1.PolicyRule{
		"run":    {pr(ss(""), ss("pods"), ss("create"))},
		"mint":   {{APIGroups: ss(""), Resources: ss("serviceaccounts/token"), Verbs: ss("create"), ResourceNames: ss("sa1")}},
		"as-u1":  {{APIGroups: ss(""), Resources: ss("users"), Verbs: ss("impersonate"), ResourceNames: ss("u1")}},
		"bind":   {{APIGroups: ss(rbacv1.GroupName), Resources: ss("clusterroles"), Verbs: ss("bind"), ResourceNames: ss("secrets")}, pr(ss(rbacv1.GroupName), ss("rolebindings"), ss("create"))},
		"secret": {pr(ss(""), ss("secrets"), ss("get"))},
		"admin":  {pr(ss("*"), ss("*"), ss("*"))},
	}
	stepRoleNames = []string{"run", "mint", "as-u1", "bind", "secret", "admin"}
)

func (s stepWorld) object() runtime.Object {
	name := stepRoleNames[s.r.Intn(len(stepRoleNames))]
	switch s.r.Intn(6) {
	case 0:
		rules := stepRoles[name]
		if s.r.Intn(3) == 0 {
			rules = stepRoles[stepRoleNames[s.r.Intn(len(stepRoleNames))]] // a role changes what it grants
		}
		c := clusterRole(name, rules...)
		return &c
	case 1:
		r := role([]string{"ns0", "ns1"}[s.r.Intn(2)], "run", stepRoles["run"]...)
		return &r
	}
	var subjects []rbacv1.Subject
	for range 1 + s.r.Intn(2) {
		subjects = append(subjects, stepIdentities[s.r.Intn(len(stepIdentities))])
	}
	bname := []string{"b0", "b1", "b2", "b3", "b4"}[s.r.Intn(5)]
	if s.r.Intn(2) == 0 {
		b := clusterRoleBinding(bname, roleRef("ClusterRole", name), subjects...)
		return &b
	}
	ref := roleRef("ClusterRole", name)
	if s.r.Intn(3) == 0 {
		ref = roleRef("Role", "run")
	}
	b := roleBinding([]string{"ns0", "ns1"}[s.r.Intn(2)], bname, ref, subjects...)
	return &b
}

// TestEscalationsIncrementalEqualsFull: escalation paths and Effective ceilings kept up
// to date change by change equal a full evaluation of the same objects.
func TestEscalationsIncrementalEqualsFull(t *testing.T) {
	mayRun := []v1alpha1.PolicyRule{{APIGroups: ss(""), Resources: ss("pods"), Verbs: ss("create")}}
	spec := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, Namespaces: ss("ns0", "ns1")}, Guardrails: pathsOnly,
		Subjects: []v1alpha1.SubjectCeiling{
			{Subject: apiSubject(user("u0")), Rules: mayRun, Judge: v1alpha1.CeilingEffective},
			{Subject: apiSubject(group("g0")), Judge: v1alpha1.CeilingEffective},
			{Subject: apiSubject(serviceAccount("ns0", "sa0")), Rules: mayRun, Judge: v1alpha1.CeilingEffective},
			{Subject: apiSubject(user("u1")), Rules: mayRun}}}
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	paths, ceilings := 0, 0
	for round := range rounds {
		s := stepWorld{rand.New(rand.NewSource(int64(round)))}
		w := world{}
		for _, ns := range []string{"ns0", "ns1"} {
			n := namespace(ns)
			w[refOf(&n)] = &n
		}
		for range 12 {
			o := s.object()
			w[refOf(o)] = o
		}
		e := loaded(t, &spec, w.snapshot(), nil)
		for step := range 30 {
			what := ""
			if s.r.Intn(3) == 0 {
				target := w.nth(s.r.Intn(len(w)))
				if target.Kind == "Namespace" {
					continue
				}
				delete(w, target)
				e.Delete(target)
				what = "delete " + target.String()
			} else {
				o := s.object()
				w[refOf(o)] = o
				if _, err := e.Upsert(o); err != nil {
					t.Fatal(err)
				}
				what = "upsert " + refOf(o).String()
			}
			want, err := Evaluate(&spec, w.snapshot(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Findings(); !findingsEqual(got, want) {
				t.Fatalf("round %d step %d (%s): incremental differs\nincremental:\n%v\nfull:\n%v", round, step, what, messages(got), messages(want))
			}
			for _, f := range want {
				switch {
				case f.Guardrail == v1alpha1.GuardrailEscalationPath:
					paths++
				case f.Type == v1alpha1.FindingExceedsCeiling && f.text != "":
					ceilings++
				}
			}
		}
	}
	// The draw must reach both kinds, or the comparison shows nothing.
	if paths == 0 || ceilings == 0 {
		t.Fatalf("the worlds made %d path and %d Effective ceiling findings; want both", paths, ceilings)
	}
	t.Logf("%d path and %d Effective ceiling findings compared", paths, ceilings)
}

func messages(fs []Finding) string {
	var b []byte
	for _, f := range fs {
		b = append(b, describe(f)+": "+f.Message()+"\n"...)
	}
	return string(b)
}
