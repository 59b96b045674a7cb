package v1alpha1

import "slices"

// expectedIn reports whether a declaration with these namespaces applies in namespace
// ns when no other declaration of its kind and name lists ns: it lists ns, or none.
func expectedIn(namespaces []string, ns string) bool {
	return len(namespaces) == 0 || slices.Contains(namespaces, ns)
}

// RoleAt returns the declaration of the role kind/name for namespace ns ("" for a
// ClusterRole): the one that lists ns, else the one that lists no namespace; nil
// when none applies.
func (s *RoleBaselineSpec) RoleAt(kind, ns, name string) *DesiredRole {
	return declarationAt(s.Roles, ns, func(r *DesiredRole) bool { return string(r.Kind) == kind && r.Name == name },
		func(r *DesiredRole) []string { return r.Namespaces })
}

// BindingAt is RoleAt for bindings.
func (s *RoleBaselineSpec) BindingAt(kind, ns, name string) *DesiredBinding {
	return declarationAt(s.Bindings, ns, func(b *DesiredBinding) bool { return string(b.Kind) == kind && b.Name == name },
		func(b *DesiredBinding) []string { return b.Namespaces })
}

func declarationAt[T any](decls []T, ns string, is func(*T) bool, namespaces func(*T) []string) *T {
	var rest *T
	for i := range decls {
		d := &decls[i]
		if !is(d) {
			continue
		}
		nss := namespaces(d)
		if len(nss) == 0 {
			if rest == nil {
				rest = d
			}
			continue
		}
		if expectedIn(nss, ns) {
			return d
		}
	}
	return rest
}
