package drift

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// snapshotObjects lists a snapshot's objects as pointers, namespaces first.
func snapshotObjects(s *Snapshot) []runtime.Object {
	var out []runtime.Object
	for i := range s.Namespaces {
		out = append(out, &s.Namespaces[i])
	}
	out = append(out, s.RBAC()...)
	for i := range s.ServiceAccounts {
		out = append(out, &s.ServiceAccounts[i])
	}
	return out
}

func sortRefs(refs []ObjectRef) {
	slices.SortFunc(refs, func(a, b ObjectRef) int {
		return strings.Compare(a.Kind+"\x00"+a.Namespace+"\x00"+a.Name, b.Kind+"\x00"+b.Namespace+"\x00"+b.Name)
	})
}
