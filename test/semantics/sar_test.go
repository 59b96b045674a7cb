// Package semantics_test checks the engine's rule comparison against a real
// kube-apiserver's RBAC authorizer (envtest): for random pairs of live and desired
// rules, what RulesAdded and RulesRemoved report must match what SubjectAccessReview
// allows a subject bound to one and not to the other.
package semantics_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
)

var (
	pairs = flag.Int("pairs", 200, "random live/desired rule pairs to judge")
	seed  = flag.Int64("seed", 1, "random seed; a failure names the pair to rerun")
)

const ns = "sar"

// The vocabulary: wildcards in every field, prefix wildcards that match nothing,
// subresources, cluster-scoped resources (also in Roles), resourceNames and URLs.
var (
	verbs     = []string{"get", "list", "create", "update", "delete", "*", "get*", "bind"}
	groups    = []string{"", "apps", "*", "rbac.authorization.k8s.io", "app*"}
	resources = []string{"pods", "pods/exec", "pods/*", "*/exec", "*", "*/*", "secrets", "deployments", "deployments/scale", "nodes", "namespaces", "roles", "clusterroles"}
	names     = []string{"a", "b"}
	urls      = []string{"/metrics", "/healthz", "/healthz/*", "*", "/api/*"}
)

// probe is one request a client can make.
type probe struct {
	verb, group, resource, sub, name, namespace string
	path                                        string // a non-resource request
}

func (p probe) String() string {
	if p.path != "" {
		return p.verb + " " + p.path
	}
	r := p.resource
	if p.sub != "" {
		r += "/" + p.sub
	}
	return fmt.Sprintf("%s %s.%s name=%q namespace=%q", p.verb, r, p.group, p.name, p.namespace)
}

// The requests probed: each concrete value of the vocabulary and one it never names
// (frobnicate, example.com, widgets, zz), so a wildcard is told from a list.
var (
	probeVerbs  = []string{"get", "list", "create", "update", "delete", "bind", "frobnicate"}
	probeGroups = []string{"", "apps", "rbac.authorization.k8s.io", "example.com"}
	probeRes    = []string{"pods", "pods/exec", "secrets", "deployments", "deployments/scale", "nodes", "namespaces", "roles", "clusterroles", "widgets", "widgets/exec"}
	probeNames  = []string{"", "a", "zz"}
	probePaths  = []string{"/metrics", "/healthz", "/healthz/live", "/api/v1", "/other"}
)

// clusterScoped: the probed resources that are cluster-scoped, in their group.
func clusterScoped(group, resource string) bool {
	switch resource {
	case "nodes", "namespaces":
		return group == ""
	case "clusterroles":
		return group == rbacv1.GroupName
	}
	return false
}

// probes lists the requests for a role of kind: in its namespace, and for a
// ClusterRole (bound cluster-wide) also cluster-wide and non-resource. A request for
// a cluster-scoped resource carries no namespace, except one naming a Namespace,
// which carries that namespace (RequestInfo); create names no object.
func probes(kind string) []probe {
	var out []probe
	for _, v := range probeVerbs {
		for _, g := range probeGroups {
			for _, res := range probeRes {
				base, sub, _ := strings.Cut(res, "/")
				for _, n := range probeNames {
					if v == "create" && n != "" && sub == "" || (v == "list") && n != "" {
						continue
					}
					var places []string
					switch {
					case base == "clusterroles" && g == rbacv1.GroupName && v == "bind":
						// A RoleBinding's roleRef is authorized in the binding's namespace.
						places = []string{ns, ""}
					case base == "namespaces" && g == "" && n != "":
						places = []string{n}
						n = ns // the Role's own namespace, and one it is not
					case clusterScoped(g, base):
						places = []string{""}
					case kind == drift.KindClusterRole:
						places = []string{ns, ""}
					default:
						places = []string{ns}
					}
					for _, where := range places {
						if base == "namespaces" && g == "" && where != "" {
							where = n
						}
						out = append(out, probe{verb: v, group: g, resource: base, sub: sub, name: n, namespace: where})
					}
				}
			}
		}
	}
	if kind == drift.KindClusterRole {
		for _, v := range []string{"get", "post"} {
			for _, p := range probePaths {
				out = append(out, probe{verb: v, path: p})
			}
		}
	}
	return out
}

// probesPerPair bounds the requests asked per pair (of about a thousand), so 200 pairs
// take some 40,000 reviews; each pair draws its own.
const probesPerPair = 100

func sample(g gen, all []probe, n int) []probe {
	g.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:min(n, len(all))]
}

// witness is a concrete request one rule atom (one verb, group, resource, name or
// URL) stands for, a client could make: a wildcard becomes a value no rule names
// (frobnicate, example.com, widgets), a prefix wildcard (pods/*, get*) a value it
// would match if prefixes matched, so a rule that grants nothing yields a request
// nobody is allowed.
func witness(kind string, a rbacv1.PolicyRule) probe {
	fill := func(s, all string) string {
		if s == "*" {
			return all
		}
		return strings.ReplaceAll(s, "*", "x")
	}
	if len(a.NonResourceURLs) > 0 {
		path := a.NonResourceURLs[0]
		if path == "*" {
			path = "/other"
		} else {
			path = strings.ReplaceAll(path, "*", "x")
		}
		return probe{verb: fill(a.Verbs[0], "frobnicate"), path: path}
	}
	p := probe{verb: fill(a.Verbs[0], "frobnicate"), group: fill(a.APIGroups[0], "example.com")}
	base, sub, _ := strings.Cut(a.Resources[0], "/")
	p.resource = fill(base, "widgets")
	if sub != "" {
		p.sub = fill(sub, "exec")
	}
	if len(a.ResourceNames) > 0 {
		p.name = a.ResourceNames[0]
	}
	switch {
	case p.resource == "namespaces" && p.group == "" && kind == drift.KindRole && !guardrails.NamelessVerb(p.verb):
		if p.name == "" || p.name == ns {
			p.name, p.namespace = ns, ns // a Role's own Namespace
		} else {
			p.namespace = p.name // another namespace: the Role's binding is not there
		}
	case p.resource == "clusterroles" && p.group == rbacv1.GroupName && p.verb == "bind" && kind == drift.KindRole:
		p.namespace = ns // the roleRef of a RoleBinding in the Role's namespace
	case clusterScoped(p.group, p.resource):
	default:
		p.namespace = ns
	}
	return p
}

// allows is the RBAC authorizer's rule matching for one concrete request, from
// component-helpers' Covers: a Role's rules (bound by a RoleBinding in ns) apply to
// requests in ns only, and a request naming no object is allowed only by rules
// without resourceNames.
func allows(kind string, rules []rbacv1.PolicyRule, p probe) bool {
	if kind == drift.KindRole && (p.path != "" || p.namespace != ns) {
		return false
	}
	if p.path != "" {
		ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{{Verbs: []string{p.verb}, NonResourceURLs: []string{p.path}}})
		return ok
	}
	res := p.resource
	if p.sub != "" {
		res += "/" + p.sub
	}
	q := rbacv1.PolicyRule{Verbs: []string{p.verb}, APIGroups: []string{p.group}, Resources: []string{res}}
	var usable []rbacv1.PolicyRule
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			continue
		}
		if p.name == "" && len(r.ResourceNames) > 0 {
			continue
		}
		usable = append(usable, r)
	}
	if p.name != "" {
		q.ResourceNames = []string{p.name}
	}
	ok, _ := validation.Covers(usable, []rbacv1.PolicyRule{q})
	return ok
}

type gen struct{ *rand.Rand }

func (g gen) some(xs []string, most int) []string {
	out := make([]string, 1+g.Intn(most))
	for i := range out {
		out[i] = xs[g.Intn(len(xs))]
	}
	return out
}

func (g gen) rules(kind string) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, g.Intn(4))
	for i := range out {
		if kind == drift.KindClusterRole && g.Intn(5) == 0 {
			out[i] = rbacv1.PolicyRule{Verbs: g.some([]string{"get", "post", "*"}, 2), NonResourceURLs: g.some(urls, 2)}
			continue
		}
		out[i] = rbacv1.PolicyRule{Verbs: g.some(verbs, 3), APIGroups: g.some(groups, 2), Resources: g.some(resources, 3)}
		if g.Intn(5) == 0 {
			out[i].ResourceNames = g.some(names, 2)
		}
	}
	return out
}

// pair is one live/desired rule pair, and the engine's verdict on it.
type pair struct {
	kind           string
	live, desired  []rbacv1.PolicyRule
	added, removed []rbacv1.PolicyRule
}

func TestSubjectAccessReviewDifferential(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs envtest: run `make test`, or set KUBEBUILDER_ASSETS")
	}
	cs := start(t)
	differential(t, cs, *seed, *pairs)
}

// BenchmarkSubjectAccessReviewDifferential judges b.N more pairs (go test -bench . -benchtime 2000x).
func BenchmarkSubjectAccessReviewDifferential(b *testing.B) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		b.Skip("needs envtest")
	}
	cs := start(b)
	b.ResetTimer()
	differential(b, cs, *seed+1000, b.N)
}

func start(t testing.TB) *kubernetes.Clientset {
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	srv, err := operator.DiscoverServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	guardrails.SetServer(srv)
	t.Cleanup(func() { guardrails.SetServer(guardrails.Server{}) })
	cfg.QPS, cfg.Burst = 2000, 2000
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return cs
}

func differential(t testing.TB, cs *kubernetes.Clientset, seed int64, n int) {
	ctx := context.Background()
	g := gen{rand.New(rand.NewSource(seed))}
	ps := make([]pair, n)
	for i := range ps {
		p := &ps[i]
		p.kind = drift.KindRole
		if g.Intn(2) == 0 {
			p.kind = drift.KindClusterRole
		}
		p.live, p.desired = g.rules(p.kind), g.rules(p.kind)
		if g.Intn(4) == 0 {
			p.desired = append(append([]rbacv1.PolicyRule{}, p.live...), g.rules(p.kind)...) // mostly alike
		}
		p.added, p.removed = engine(t, p)
		for _, side := range []string{"live", "desired"} {
			rules := p.live
			if side == "desired" {
				rules = p.desired
			}
			bind(ctx, t, cs, p.kind, fmt.Sprintf("%s-%d-%d", side, seed, i), rules)
		}
	}
	// The authorizer reads RBAC from informers: wait until the last bindings are seen.
	for _, kind := range []string{drift.KindRole, drift.KindClusterRole} {
		user := fmt.Sprintf("sentinel-%d-%s", seed, strings.ToLower(kind))
		bind(ctx, t, cs, kind, user, []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"sentinel"}}})
		deadline := time.Now().Add(30 * time.Second)
		for !sar(ctx, t, cs, user, probe{verb: "get", resource: "sentinel", namespace: ns}) {
			if time.Now().After(deadline) {
				t.Fatalf("the authorizer never saw %s", user)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var mu sync.Mutex
	var failures []string
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	asked := 0
	for i := range ps {
		p := &ps[i]
		reqs := sample(g, probes(p.kind), probesPerPair)
		for _, rules := range [][]rbacv1.PolicyRule{p.live, p.desired} {
			for _, r := range rules {
				for _, atom := range validation.BreakdownRule(r) {
					reqs = append(reqs, witness(p.kind, atom))
				}
			}
		}
		// What the engine reports must be real: each atom of RulesAdded a request live
		// is allowed and desired is not, and the reverse for RulesRemoved.
		for _, w := range []struct {
			rules       []rbacv1.PolicyRule
			who, notWho string
		}{{p.added, "live", "desired"}, {p.removed, "desired", "live"}} {
			for _, r := range w.rules {
				for _, atom := range validation.BreakdownRule(r) {
					pr := witness(p.kind, atom)
					asked++
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer func() { <-sem; wg.Done() }()
						yes := sar(ctx, t, cs, fmt.Sprintf("%s-%d-%d", w.who, seed, i), pr)
						no := sar(ctx, t, cs, fmt.Sprintf("%s-%d-%d", w.notWho, seed, i), pr)
						if !yes || no {
							mu.Lock()
							failures = append(failures, fmt.Sprintf("pair %d (%s, seed %d): the engine says %s grants %v beyond %s, but for %s SubjectAccessReview allows %s %v and %s %v\n  live:    %v\n  desired: %v\n  added:   %v\n  removed: %v",
								i, p.kind, seed, w.who, atom, w.notWho, pr, w.who, yes, w.notWho, no, p.live, p.desired, p.added, p.removed))
							mu.Unlock()
						}
					}()
				}
			}
		}
		for _, pr := range reqs {
			asked++
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				live := sar(ctx, t, cs, fmt.Sprintf("live-%d-%d", seed, i), pr)
				desired := sar(ctx, t, cs, fmt.Sprintf("desired-%d-%d", seed, i), pr)
				var why []string
				if live && !desired && !allows(p.kind, p.added, pr) {
					why = append(why, "allowed to live and not desired, but RulesAdded does not grant it")
				}
				if allows(p.kind, p.added, pr) && !live {
					why = append(why, "RulesAdded grants it, but live is not allowed it")
				}
				if desired && !live && !allows(p.kind, p.removed, pr) {
					why = append(why, "allowed to desired and not live, but RulesRemoved does not grant it")
				}
				if allows(p.kind, p.removed, pr) && !desired {
					why = append(why, "RulesRemoved grants it, but desired is not allowed it")
				}
				if len(why) > 0 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("pair %d (%s, seed %d): %s: %s\n  live:    %v\n  desired: %v\n  added:   %v\n  removed: %v",
						i, p.kind, seed, pr, strings.Join(why, "; "), p.live, p.desired, p.added, p.removed))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("%d pairs, %d requests asked of two subjects each", n, asked)
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more", len(failures)-10)
			break
		}
		t.Error(f)
	}
}

// engine returns what the engine reports live grants beyond desired, and lacks.
func engine(t testing.TB, p *pair) (added, removed []rbacv1.PolicyRule) {
	spec := &v1alpha1.RoleBaselineSpec{
		Scope:      v1alpha1.Scope{Namespaces: []string{ns}, ClusterScoped: true, Exclude: v1alpha1.Exclusions{IncludeSystem: true}},
		Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
		Roles:      []v1alpha1.DesiredRole{{Kind: v1alpha1.RoleKind(p.kind), Name: "r", Rules: drift.ToAPIRules(p.desired...)}},
	}
	snap := &drift.Snapshot{Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: ns}}}}
	meta := metav1.ObjectMeta{Name: "r"}
	if p.kind == drift.KindRole {
		meta.Namespace = ns
		snap.Roles = []rbacv1.Role{{ObjectMeta: meta, Rules: p.live}}
	} else {
		snap.ClusterRoles = []rbacv1.ClusterRole{{ObjectMeta: meta, Rules: p.live}}
	}
	fs, err := drift.Evaluate(spec, snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		switch f.Type {
		case v1alpha1.FindingRulesAdded:
			added = f.Rules
		case v1alpha1.FindingRulesRemoved:
			removed = f.Rules
		}
	}
	return added, removed
}

// bind creates a role of kind with rules and binds it to user: a Role by a
// RoleBinding in ns, a ClusterRole by a ClusterRoleBinding.
func bind(ctx context.Context, t testing.TB, cs *kubernetes.Clientset, kind, user string, rules []rbacv1.PolicyRule) {
	meta := metav1.ObjectMeta{Name: user}
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	var err error
	if kind == drift.KindRole {
		meta.Namespace = ns
		if _, err = cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{}); err == nil {
			_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user}}, metav1.CreateOptions{})
		}
	} else {
		if _, err = cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{}); err == nil {
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: meta, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user}}, metav1.CreateOptions{})
		}
	}
	if err != nil {
		t.Fatalf("creating %s %s %v: %v", kind, user, rules, err)
	}
}

func sar(ctx context.Context, t testing.TB, cs *kubernetes.Clientset, user string, p probe) bool {
	spec := authzv1.SubjectAccessReviewSpec{User: user}
	if p.path != "" {
		spec.NonResourceAttributes = &authzv1.NonResourceAttributes{Verb: p.verb, Path: p.path}
	} else {
		spec.ResourceAttributes = &authzv1.ResourceAttributes{Verb: p.verb, Group: p.group, Resource: p.resource,
			Subresource: p.sub, Name: p.name, Namespace: p.namespace}
	}
	r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Errorf("SubjectAccessReview %s for %s: %v", p, user, err)
		return false
	}
	return r.Status.Allowed
}
