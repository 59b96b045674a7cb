package drift

import (
	"hash/fnv"
	"math/rand"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// usedSet is usage data listing the atoms used, each as "binding|subject name|verb resource".
type usedSet map[string]bool

func (u usedSet) Used(b ObjectRef, s rbacv1.Subject, r rbacv1.PolicyRule) bool {
	what := strings.Join(r.Resources, "") + strings.Join(r.NonResourceURLs, "")
	return u[b.String()+"|"+s.Name+"|"+strings.Join(r.Verbs, "")+" "+what]
}

// indexedSet is a usedSet that also answers Any, as audit.Snapshot does.
type indexedSet struct{ usedSet }

func (u indexedSet) Any(b ObjectRef, s rbacv1.Subject) bool {
	for k := range u.usedSet {
		if strings.HasPrefix(k, b.String()+"|"+s.Name+"|") {
			return true
		}
	}
	return false
}

// hashUsage marks about half of all atoms used, deterministically, for property tests.
type hashUsage struct{}

func (hashUsage) Used(b ObjectRef, s rbacv1.Subject, r rbacv1.PolicyRule) bool {
	h := fnv.New32a()
	for _, x := range []string{b.String(), s.Kind, s.Namespace, s.Name, describeRule(r)} {
		h.Write([]byte(x))
		h.Write([]byte{0})
	}
	return h.Sum32()%2 == 0
}

func TestEvaluateUnused(t *testing.T) {
	scope := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{Namespaces: ss("team-a"), ClusterScoped: true}, Guardrails: noGuardrails}
	snap := Snapshot{
		Namespaces: teamNSObjs,
		Roles:      []rbacv1.Role{role("team-a", "reader", readPods)},
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("metrics", urlRule(ss("/metrics"), ss("get")),
			pr(ss(""), ss("nodes"), ss("get")))},
		RoleBindings: []rbacv1.RoleBinding{
			roleBinding("team-a", "readers", roleRef("Role", "reader"), user("alice"), user("bob"), user("alice")),
			roleBinding("team-a", "metrics", roleRef("ClusterRole", "metrics"), serviceAccount("", "scraper")),
			roleBinding("team-a", "dangling", roleRef("Role", "gone"), user("carol")),
			roleBinding("team-b", "readers", roleRef("Role", "reader"), user("dave")), // out of scope
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("metrics", roleRef("ClusterRole", "metrics"), group("mon"))},
	}
	const rb, crb = "RoleBinding team-a/readers", "ClusterRoleBinding metrics"
	tests := map[string]struct {
		usage Usage
		want  []string
	}{
		"no usage data, no findings": {usage: nil},
		"nothing used: every in-scope grant, per subject, without nonResourceURLs through a RoleBinding": {
			usage: usedSet{},
			want: []string{
				`UnusedPermission RoleBinding team-a/readers subject=User alice rules=get,list,watch pods [core]`,
				`UnusedPermission RoleBinding team-a/readers subject=User bob rules=get,list,watch pods [core]`,
				`UnusedPermission RoleBinding team-a/metrics subject=ServiceAccount team-a/scraper rules=get nodes [core]`,
				`UnusedPermission ClusterRoleBinding metrics subject=Group mon rules=get nodes [core]; get /metrics`,
			},
		},
		"partly used: only the unused verbs remain": {
			usage: usedSet{rb + "|alice|get pods": true, rb + "|alice|list pods": true, rb + "|bob|watch pods": true,
				"RoleBinding team-a/metrics|scraper|get nodes": true, crb + "|mon|get /metrics": true},
			want: []string{
				`UnusedPermission RoleBinding team-a/readers subject=User alice rules=watch pods [core]`,
				`UnusedPermission RoleBinding team-a/readers subject=User bob rules=get,list pods [core]`,
				`UnusedPermission ClusterRoleBinding metrics subject=Group mon rules=get nodes [core]`,
			},
		},
		"use through another binding does not count": {
			usage: usedSet{crb + "|scraper|get nodes": true, rb + "|alice|get pods": true, rb + "|alice|list pods": true,
				rb + "|alice|watch pods": true, rb + "|bob|get pods": true, rb + "|bob|list pods": true,
				rb + "|bob|watch pods": true, crb + "|mon|get /metrics": true, crb + "|mon|get nodes": true},
			want: []string{`UnusedPermission RoleBinding team-a/metrics subject=ServiceAccount team-a/scraper rules=get nodes [core]`},
		},
	}
	for name, tc := range tests {
		if set, ok := tc.usage.(usedSet); ok {
			tests[name+", indexed"] = struct {
				usage Usage
				want  []string
			}{indexedSet{set}, tc.want}
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Evaluate(&scope, &snap, tc.usage)
			if err != nil {
				t.Fatal(err)
			}
			gotS := describeAll(got)
			slices.Sort(gotS)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(gotS, want) {
				t.Errorf("findings differ\ngot:\n  %s\nwant:\n  %s", strings.Join(gotS, "\n  "), strings.Join(want, "\n  "))
			}
			c := Count(got)
			if c.Drifts != 0 || c.Violations != 0 || c.Unused != int32(len(tc.want)) {
				t.Errorf("counts %+v: unused findings must count as neither drift nor violation", c)
			}
			for _, f := range got {
				if f.Severity != v1alpha1.SeverityLow || f.Message() == "" {
					t.Errorf("unused finding should be Low with a message: %+v", f)
				}
			}
		})
	}
}

// TestSetUsageEqualsFresh: swapping usage data on a loaded Evaluator, then changing
// objects, gives what a fresh evaluation with that usage gives.
func TestSetUsageEqualsFresh(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for round := 0; round < 100; round++ {
		g := &gen{data: randomBytes(rng, 4096)}
		spec := g.spec()
		w := g.world(30)
		e := loaded(t, &spec, w.snapshot(), nil)
		for step, u := range []Usage{hashUsage{}, nil, usedSet{}, indexedSet{usedSet{}}, hashUsage{}} {
			e.SetUsage(u)
			o := g.object()
			w[refOf(o)] = o
			if _, err := e.Upsert(o); err != nil {
				t.Fatal(err)
			}
			feed(t, e, w.objects())
			want, err := Evaluate(&spec, w.snapshot(), u)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Findings(); !findingsEqual(got, want) {
				t.Fatalf("round %d step %d: after SetUsage incremental differs\nincremental:\n%v\nfull:\n%v",
					round, step, describeAll(got), describeAll(want))
			}
			if c, wc := e.Counts(), Count(want); c.Unused != wc.Unused {
				t.Fatalf("round %d step %d: unused count %d, want %d", round, step, c.Unused, wc.Unused)
			}
		}
	}
}

// TestCoversRequestEqualsCovers: the pre-checks never change validation.Covers'
// answer, over rules and requests drawn from names, wildcards and subresources.
func TestCoversRequestEqualsCovers(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	pick := func(from ...string) []string {
		var out []string
		for _, s := range from {
			if rng.Intn(3) == 0 {
				out = append(out, s)
			}
		}
		return out
	}
	one := func(from ...string) []string { return []string{from[rng.Intn(len(from))]} }
	covered := 0
	for i := 0; i < 20000; i++ {
		rule := rbacv1.PolicyRule{Verbs: pick("get", "list", "*"), APIGroups: pick("", "apps", "*"),
			Resources: pick("pods", "pods/log", "*/scale", "deployments/scale", "*"), ResourceNames: pick("a")}
		req := rbacv1.PolicyRule{Verbs: one("get", "list"), APIGroups: one("", "apps"), Resources: one("pods", "pods/log", "deployments/scale")}
		if rng.Intn(4) == 0 {
			req.ResourceNames = one("a", "b")
		}
		if rng.Intn(5) == 0 {
			rule = rbacv1.PolicyRule{Verbs: pick("get", "*"), NonResourceURLs: pick("/healthz", "/metrics*", "*")}
			req = rbacv1.PolicyRule{Verbs: one("get", "post"), NonResourceURLs: one("/healthz", "/metrics/x", "/api")}
		}
		want, _ := validation.Covers([]rbacv1.PolicyRule{rule}, []rbacv1.PolicyRule{req})
		if got := CoversRequest(rule, req); got != want {
			t.Fatalf("CoversRequest(%v, %v) = %v, validation.Covers says %v", rule, req, got, want)
		}
		if want {
			covered++
		}
	}
	if covered < 1000 {
		t.Fatalf("only %d of 20000 pairs covered: the draw exercises too little", covered)
	}
}

// hashedRequests records, per (binding, subject), none to two requests picked by a
// hash: usage with Requests, as audit.Snapshot answers.
type hashedRequests struct{}

var requestPool = []rbacv1.PolicyRule{
	pr(ss(""), ss("pods"), ss("get")), pr(ss(""), ss("secrets"), ss("list")), pr(ss("apps"), ss("deployments"), ss("update")),
	pr(ss(""), ss("pods/log"), ss("get")), urlRule(ss("/metrics"), ss("get")), {Verbs: ss("get"), APIGroups: ss(""), Resources: ss("configmaps"), ResourceNames: ss("a")},
}

func (hashedRequests) Requests(b ObjectRef, s rbacv1.Subject) []rbacv1.PolicyRule {
	h := fnv.New32a()
	for _, x := range []string{b.String(), s.Kind, s.Namespace, s.Name} {
		h.Write([]byte(x))
		h.Write([]byte{0})
	}
	n := h.Sum32()
	var out []rbacv1.PolicyRule
	for i := range int(n % 3) {
		out = append(out, requestPool[(n>>(4*i+2))%uint32(len(requestPool))])
	}
	return out
}

func (u hashedRequests) Used(b ObjectRef, s rbacv1.Subject, rule rbacv1.PolicyRule) bool {
	return slices.ContainsFunc(u.Requests(b, s), func(r rbacv1.PolicyRule) bool { return CoversRequest(rule, r) })
}

// usedOnly hides every optional method: the engine must ask Used piece by piece.
type usedOnly struct{ u Usage }

func (o usedOnly) Used(b ObjectRef, s rbacv1.Subject, r rbacv1.PolicyRule) bool {
	return o.u.Used(b, s, r)
}

// TestUsageRequestsEqualsUsed: asking for a grant's requests once gives the findings
// that asking Used for every piece gives.
func TestUsageRequestsEqualsUsed(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	unused, partly := 0, 0
	for round := 0; round < 300; round++ {
		g := &gen{data: randomBytes(rng, 8192)}
		spec := g.spec()
		snap := g.world(80).snapshot()
		fast, err := Evaluate(&spec, snap, hashedRequests{})
		if err != nil {
			t.Fatal(err)
		}
		slow, err := Evaluate(&spec, snap, usedOnly{hashedRequests{}})
		if err != nil {
			t.Fatal(err)
		}
		if !findingsEqual(fast, slow) {
			t.Fatalf("round %d: Requests and Used differ\nRequests:\n%v\nUsed:\n%v", round, describeAll(fast), describeAll(slow))
		}
		for i := range fast {
			if fast[i].Type == v1alpha1.FindingUnusedPermission {
				unused++
				if fast[i].unused < fast[i].granted {
					partly++
				}
			}
		}
	}
	if unused < 100 || partly < 10 {
		t.Fatalf("%d UnusedPermission findings, %d partly used, over all rounds: the draw exercises too little", unused, partly)
	}
}
