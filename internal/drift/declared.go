package drift

import "fmt"

// declared holds the declarations of one kind and name: those that list namespaces,
// by namespace, and the one that lists none, which applies everywhere else (and is
// the only one of a cluster-scoped kind).
type declared[T any] struct {
	byNS map[string]*T
	rest *T
}

// at returns the declaration that applies in namespace ns, or nil.
func (d *declared[T]) at(ns string) *T {
	if d == nil {
		return nil
	}
	if t := d.byNS[ns]; t != nil {
		return t
	}
	return d.rest
}

// declare adds t, declared for namespaces (none: every other), to m under k. It
// reports whether k is new. validateDeclarations has refused overlaps.
func declare[T any](m map[declKey]*declared[T], k declKey, namespaces []string, t *T) bool {
	d := m[k]
	isNew := d == nil
	if isNew {
		d = &declared[T]{}
		m[k] = d
	}
	if len(namespaces) == 0 {
		d.rest = t
		return isNew
	}
	if d.byNS == nil {
		d.byNS = make(map[string]*T, len(namespaces))
	}
	for _, ns := range namespaces {
		d.byNS[ns] = t
	}
	return isNew
}

// claims checks that declarations of one kind and name do not overlap: disjoint
// namespaces, and at most one listing none.
type claims map[declKey]map[string]string // namespace ("" for "every other") -> field

func (c claims) claim(kind, name string, namespaces []string, field string) error {
	k := declKey{kind, name}
	if c[k] == nil {
		c[k] = map[string]string{}
	}
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		if prev, ok := c[k][ns]; ok {
			where := "for every namespace the others do not list"
			if ns != "" {
				where = "in namespace " + ns
			}
			return fmt.Errorf("%s: %s %s is declared twice %s (also %s): give each declaration of one name its own namespaces, or merge them",
				field, kind, name, where, prev)
		}
		c[k][ns] = field
	}
	return nil
}
