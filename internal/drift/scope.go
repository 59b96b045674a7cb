package drift

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// bootstrapNames are the API server's user-facing bootstrap ClusterRoles; their
// same-named ClusterRoleBindings are excluded with them. The API server reconciles
// them at start, so a baseline must not fight it.
var bootstrapNames = map[string]bool{"cluster-admin": true, "admin": true, "edit": true, "view": true}

// Scope is a compiled spec.scope. It is immutable and safe for concurrent use, so a
// controller can keep one per baseline to map RBAC events to the baselines covering them.
type Scope struct {
	namespaces     map[string]bool
	nsSelector     labels.Selector // nil: no selector
	clusterScoped  bool
	objSelector    labels.Selector // nil: every object
	declared       map[declKey]bool
	exclNames      map[string]bool
	exclPrefixes   []string
	exclNamespaces map[string]bool
	includeSystem  bool
}

type declKey struct{ kind, name string }

// CompileScope compiles spec.scope. An invalid label selector is an error naming the field.
func CompileScope(spec *v1alpha1.RoleBaselineSpec) (*Scope, error) {
	sc := &spec.Scope
	s := &Scope{
		namespaces:     toSet(sc.Namespaces),
		clusterScoped:  sc.ClusterScoped,
		declared:       map[declKey]bool{},
		exclNames:      toSet(sc.Exclude.Names),
		exclPrefixes:   append([]string(nil), sc.Exclude.NamePrefixes...),
		exclNamespaces: toSet(sc.Exclude.Namespaces),
		includeSystem:  sc.Exclude.IncludeSystem,
	}
	var err error
	if s.nsSelector, err = selector(sc.NamespaceSelector, "spec.scope.namespaceSelector"); err != nil {
		return nil, err
	}
	if s.objSelector, err = selector(sc.ObjectSelector, "spec.scope.objectSelector"); err != nil {
		return nil, err
	}
	if err := validateDeclarations(spec); err != nil {
		return nil, err
	}
	for _, r := range spec.Roles {
		s.declared[declKey{string(r.Kind), r.Name}] = true
	}
	for _, b := range spec.Bindings {
		s.declared[declKey{string(b.Kind), b.Name}] = true
	}
	return s, nil
}

// validateDeclarations refuses what the schema lets through but the operator could
// not write: names the API server would reject, aggregation selectors that do not parse.
func validateDeclarations(spec *v1alpha1.RoleBaselineSpec) error {
	name := func(field, n string) error {
		// The API server's rule for RBAC object names: a path segment.
		var msg string
		switch {
		case n == "":
			msg = "must not be empty"
		case n == "." || n == "..":
			msg = "may not be '.' or '..'"
		case strings.ContainsAny(n, "/%"):
			msg = "may not contain '/' or '%'"
		default:
			return nil
		}
		return fmt.Errorf("%s: %q is not a valid object name: %s", field, n, msg)
	}
	seen := claims{}
	for i, r := range spec.Roles {
		if err := name(fmt.Sprintf("spec.roles[%d].name", i), r.Name); err != nil {
			return err
		}
		if err := seen.claim(string(r.Kind), r.Name, r.Namespaces, fmt.Sprintf("spec.roles[%d]", i)); err != nil {
			return err
		}
		if r.AggregationRule == nil {
			continue
		}
		for j := range r.AggregationRule.ClusterRoleSelectors {
			field := fmt.Sprintf("spec.roles[%d].aggregationRule.clusterRoleSelectors[%d]", i, j)
			if _, err := selector(&r.AggregationRule.ClusterRoleSelectors[j], field); err != nil {
				return fmt.Errorf("%w; fix the selector (operators: In, NotIn, Exists, DoesNotExist)", err)
			}
		}
	}
	for i, b := range spec.Bindings {
		if err := name(fmt.Sprintf("spec.bindings[%d].name", i), b.Name); err != nil {
			return err
		}
		if err := name(fmt.Sprintf("spec.bindings[%d].roleRef.name", i), b.RoleRef.Name); err != nil {
			return err
		}
		if err := seen.claim(string(b.Kind), b.Name, b.Namespaces, fmt.Sprintf("spec.bindings[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func selector(ls *metav1.LabelSelector, field string) (labels.Selector, error) {
	if ls == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return sel, nil
}

func toSet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// ClusterScoped reports whether cluster-scoped objects are in scope.
func (s *Scope) ClusterScoped() bool { return s.clusterScoped }

// CoversNamespace reports whether the scope selects the namespace: listed by name or
// matching namespaceSelector, and not excluded.
func (s *Scope) CoversNamespace(ns *corev1.Namespace) bool {
	return s.SelectsNamespace(ns.Name, ns.Labels)
}

// SelectsNamespace is CoversNamespace for a name and its labels.
func (s *Scope) SelectsNamespace(name string, nsLabels map[string]string) bool {
	if s.exclNamespaces[name] {
		return false
	}
	if s.namespaces[name] {
		return true
	}
	return s.nsSelector != nil && s.nsSelector.Matches(labels.Set(nsLabels))
}

// Covers reports whether an RBAC object is in scope. nsLabels are the labels of the
// object's namespace (ignored for cluster-scoped kinds).
func (s *Scope) Covers(kind, namespace, name string, objLabels, nsLabels map[string]string) bool {
	selected := false
	if kind == KindRole || kind == KindRoleBinding {
		selected = s.SelectsNamespace(namespace, nsLabels)
	}
	return s.covers(kind, name, objLabels, selected)
}

// covers is Covers with the namespace selection already decided (ignored for
// cluster-scoped kinds), so callers can decide it once per namespace.
func (s *Scope) covers(kind, name string, objLabels map[string]string, nsSelected bool) bool {
	switch kind {
	case KindClusterRole, KindClusterRoleBinding:
		if !s.clusterScoped {
			return false
		}
	case KindRole, KindRoleBinding:
		if !nsSelected {
			return false
		}
	default:
		return false
	}
	if s.excluded(kind, name, objLabels) {
		return false
	}
	// Declared roles and bindings are always in scope, whatever their labels.
	if s.objSelector != nil && !s.declared[declKey{kind, name}] && !s.objSelector.Matches(labels.Set(objLabels)) {
		return false
	}
	return true
}

// excluded applies the explicit exclusions and, unless includeSystem, the default ones.
func (s *Scope) excluded(kind, name string, objLabels map[string]string) bool {
	if s.exclNames[name] {
		return true
	}
	for _, p := range s.exclPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	if s.includeSystem {
		return false
	}
	if strings.HasPrefix(name, "system:") || objLabels[v1alpha1.IgnoreLabel] == "true" {
		return true
	}
	// Bootstrap names are only excluded cluster-wide: a RoleBinding called "admin" in
	// a team namespace is the team's object, not the API server's.
	return (kind == KindClusterRole || kind == KindClusterRoleBinding) && bootstrapNames[name]
}

// expects reports whether a declared object is expected at this place: the place is
// selected and the name is not excluded. Labels are unknown for a missing object.
func (s *Scope) expects(kind, namespace, name string, nsLabels map[string]string) bool {
	return s.Covers(kind, namespace, name, nil, nsLabels)
}
