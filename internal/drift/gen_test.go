package drift

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// gen draws baselines, snapshots and changes from a byte string, so that the same
// generator serves fuzzing (bytes from the fuzzer) and randomized tests (random
// bytes). When the bytes run out every draw is 0.
type gen struct {
	data []byte
	pos  int
}

func (g *gen) intn(n int) int {
	if n <= 1 {
		return 0
	}
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return int(b) % n
}

func (g *gen) bool() bool { return g.intn(2) == 1 }

func (g *gen) pick(xs []string) string { return xs[g.intn(len(xs))] }

func (g *gen) some(xs []string, max int) []string {
	n := 1 + g.intn(max)
	out := make([]string, n)
	for i := range out {
		out[i] = g.pick(xs)
	}
	return out
}

var (
	genNamespaces = []string{"ns0", "ns1", "ns2", "ns3"}
	genRoleNames  = []string{"r0", "r1", "r2", "r3", "system:r", "admin", "edit"}
	genBindNames  = []string{"b0", "b1", "b2", "b3", "system:b", "cluster-admin"}
	genGroups     = []string{"", "apps", "*", "rbac.authorization.k8s.io", "certificates.k8s.io"}
	genResources  = []string{"pods", "secrets", "pods/exec", "*", "*/exec", "deployments", "nodes/proxy", "roles", "namespaces", "signers", "certificatesigningrequests/approval"}
	genVerbs      = []string{"get", "list", "create", "*", "bind", "delete", "patch", "approve", "update"}
	genURLs       = []string{"/metrics", "/healthz*", "*", "/api"}
	genTiers      = []string{"gold", "silver", ""}
)

func (g *gen) rule(cluster bool) rbacv1.PolicyRule {
	if cluster && g.intn(5) == 0 {
		return rbacv1.PolicyRule{NonResourceURLs: g.some(genURLs, 2), Verbs: g.some(genVerbs[:4], 2)}
	}
	r := rbacv1.PolicyRule{APIGroups: g.some(genGroups, 2), Resources: g.some(genResources, 3), Verbs: g.some(genVerbs, 3)}
	if g.intn(6) == 0 {
		r.ResourceNames = g.some([]string{"a", "b"}, 2)
	}
	return r
}

func (g *gen) rules(cluster bool) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, g.intn(4))
	for i := range out {
		out[i] = g.rule(cluster)
	}
	return out
}

func (g *gen) subject() rbacv1.Subject {
	switch g.intn(8) {
	case 0:
		return user("u0")
	case 1:
		return rbacv1.Subject{Kind: rbacv1.UserKind, Name: "u1"} // apiGroup left to defaulting
	case 2:
		return user("system:anonymous")
	case 3:
		return group("system:authenticated")
	case 4:
		return group("system:serviceaccounts:" + g.pick(genNamespaces))
	case 5:
		return serviceAccount(g.pick(genNamespaces), "sa0")
	case 6:
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "sa0"} // namespace from the binding
	}
	return group("g0")
}

func (g *gen) subjects() []rbacv1.Subject {
	out := make([]rbacv1.Subject, g.intn(4))
	for i := range out {
		out[i] = g.subject()
	}
	return out
}

func (g *gen) labels() map[string]string {
	switch g.intn(9) {
	case 0:
		return map[string]string{"team": "a"}
	case 1:
		return map[string]string{v1alpha1.IgnoreLabel: "true"}
	case 2, 3:
		// What aggregation selectors match (selector), and the default roles' labels.
		return map[string]string{"k": g.pick([]string{"a", "b"})}
	case 4:
		return map[string]string{"rbac.authorization.k8s.io/aggregate-to-" + g.pick([]string{"admin", "edit", "view"}): "true"}
	}
	return nil
}

func (g *gen) selector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"k": g.pick([]string{"a", "b"})}}
}

func (g *gen) roleRef() rbacv1.RoleRef {
	if g.bool() {
		return roleRef("Role", g.pick(genRoleNames))
	}
	return roleRef("ClusterRole", g.pick(append([]string{"cluster-admin"}, genRoleNames...)))
}

// object draws one live object: an RBAC object or a namespace.
func (g *gen) object() runtime.Object {
	ns, cluster := g.pick(genNamespaces), g.intn(3) == 0
	meta := metav1.ObjectMeta{Name: g.pick(genRoleNames), Labels: g.labels()}
	switch g.intn(5) {
	case 0:
		if cluster {
			cr := &rbacv1.ClusterRole{ObjectMeta: meta, Rules: g.rules(true)}
			if g.intn(4) == 0 {
				cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{*g.selector()}}
			}
			return cr
		}
		meta.Namespace = ns
		return &rbacv1.Role{ObjectMeta: meta, Rules: g.rules(false)}
	case 1:
		meta.Name = g.pick(genBindNames)
		if cluster {
			return &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: roleRef("ClusterRole", g.pick(genRoleNames)), Subjects: g.subjects()}
		}
		meta.Namespace = ns
		return &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: g.roleRef(), Subjects: g.subjects()}
	case 2:
		n := namespace(ns, "tier", g.pick(genTiers))
		return &n
	case 3:
		meta.Namespace = ns
		return &rbacv1.Role{ObjectMeta: meta, Rules: g.rules(false)}
	}
	meta.Namespace, meta.Name = ns, g.pick(genBindNames)
	return &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: g.roleRef(), Subjects: g.subjects()}
}

func (g *gen) spec() v1alpha1.RoleBaselineSpec {
	s := v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: g.bool()}}
	switch g.intn(3) {
	case 0:
		s.Scope.Namespaces = g.some(genNamespaces, 3)
	case 1:
		s.Scope.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	}
	if g.intn(4) == 0 {
		s.Scope.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	}
	s.Scope.Exclude.IncludeSystem = g.intn(4) == 0
	if g.intn(4) == 0 {
		s.Scope.Exclude.NamePrefixes = []string{"r3"}
		s.Scope.Exclude.Namespaces = []string{g.pick(genNamespaces)}
	}
	s.Unmanaged = []v1alpha1.UnmanagedPolicy{v1alpha1.UnmanagedIgnore, v1alpha1.UnmanagedReport, v1alpha1.UnmanagedRemove}[g.intn(3)]
	seen := map[string]bool{}
	for i := g.intn(4); i > 0; i-- {
		kind := []v1alpha1.RoleKind{v1alpha1.KindRole, v1alpha1.KindClusterRole}[g.intn(2)]
		d := v1alpha1.DesiredRole{Kind: kind, Name: g.pick(genRoleNames)}
		if kind == v1alpha1.KindClusterRole && g.intn(4) == 0 {
			d.AggregationRule = &v1alpha1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{*g.selector()}}
		} else {
			d.Rules = ToAPIRules(g.rules(kind == v1alpha1.KindClusterRole)...)
		}
		if !seen[string(kind)+d.Name] {
			seen[string(kind)+d.Name] = true
			s.Roles = append(s.Roles, d)
		}
	}
	for i := g.intn(4); i > 0; i-- {
		kind := []v1alpha1.BindingKind{v1alpha1.KindRoleBinding, v1alpha1.KindClusterRoleBinding}[g.intn(2)]
		ref := g.roleRef()
		if kind == v1alpha1.KindClusterRoleBinding {
			ref.Kind = "ClusterRole"
		}
		d := v1alpha1.DesiredBinding{Kind: kind, Name: g.pick(genBindNames),
			RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.RoleKind(ref.Kind), Name: ref.Name}}
		for _, sub := range g.subjects() {
			if sub.Kind == rbacv1.ServiceAccountKind && sub.Namespace == "" {
				continue
			}
			d.Subjects = append(d.Subjects, apiSubject(sub))
		}
		if !seen[string(kind)+d.Name] {
			seen[string(kind)+d.Name] = true
			s.Bindings = append(s.Bindings, d)
		}
	}
	ceilingSubjects := []rbacv1.Subject{user("u0"), user("u1"), serviceAccount("ns0", "sa0"), group("g0")}
	for _, sub := range ceilingSubjects {
		if g.intn(3) == 0 {
			c := v1alpha1.SubjectCeiling{Subject: apiSubject(sub), Rules: ToAPIRules(g.rules(true)...)}
			if g.bool() {
				c.Judge = v1alpha1.CeilingEffective
			}
			s.Subjects = append(s.Subjects, c)
		}
	}
	if g.bool() {
		s.Guardrails.Set = v1alpha1.GuardrailSetNone
	}
	if g.bool() {
		s.Guardrails.Rules = []v1alpha1.GuardrailRule{{ID: v1alpha1.GuardrailSecretsRead, Enabled: boolPtr(g.bool()), Severity: v1alpha1.SeverityLow}}
	}
	if g.bool() {
		s.Guardrails.Exceptions = []v1alpha1.GuardrailException{{Subjects: apiSubjects(user("u0")), Reason: "r"},
			{Guardrails: []v1alpha1.GuardrailID{v1alpha1.GuardrailWildcardAccess}, Name: g.pick(genRoleNames), Reason: "r"}}
	}
	return s
}

// world is a set of live objects keyed by reference, from which snapshots are made.
type world map[ObjectRef]runtime.Object

func refOf(o runtime.Object) ObjectRef {
	switch t := o.(type) {
	case *rbacv1.Role:
		return ObjectRef{KindRole, t.Namespace, t.Name}
	case *rbacv1.ClusterRole:
		return ObjectRef{KindClusterRole, "", t.Name}
	case *rbacv1.RoleBinding:
		return ObjectRef{KindRoleBinding, t.Namespace, t.Name}
	case *rbacv1.ClusterRoleBinding:
		return ObjectRef{KindClusterRoleBinding, "", t.Name}
	case *corev1.Namespace:
		return ObjectRef{KindNamespace, "", t.Name}
	}
	panic(fmt.Sprintf("unknown %T", o))
}

func (w world) snapshot() *Snapshot {
	s := &Snapshot{}
	for _, o := range w {
		s.Add(o)
	}
	return s
}

// snapshotWorld draws a world of up to n objects.
func (g *gen) world(n int) world {
	w := world{}
	for i := g.intn(n + 1); i > 0; i-- {
		o := g.object()
		w[refOf(o)] = o
	}
	return w
}
