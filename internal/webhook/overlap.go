package webhook

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// baselineScope is a baseline with its compiled scope.
type baselineScope struct {
	rb    *v1alpha1.RoleBaseline
	scope *drift.Scope
}

type declKey struct{ kind, name string }

func declarations(spec *v1alpha1.RoleBaselineSpec) map[declKey]bool {
	out := make(map[declKey]bool, len(spec.Roles)+len(spec.Bindings))
	for _, r := range spec.Roles {
		out[declKey{string(r.Kind), r.Name}] = true
	}
	for _, b := range spec.Bindings {
		out[declKey{string(b.Kind), b.Name}] = true
	}
	return out
}

// sharedClaim returns an object both baselines declare at a place both select now
// ("Role team-a/reader"), or "" when they claim nothing in common. Namespaced
// declarations are compared in the existing namespaces and in those both list by name.
func sharedClaim(a, b baselineScope, namespaces []corev1.Namespace) string {
	theirs := declarations(&b.rb.Spec)
	for k := range declarations(&a.rb.Spec) {
		if !theirs[k] {
			continue
		}
		switch k.kind {
		case drift.KindClusterRole, drift.KindClusterRoleBinding:
			if a.scope.Covers(k.kind, "", k.name, nil, nil) && b.scope.Covers(k.kind, "", k.name, nil, nil) {
				return k.kind + " " + k.name
			}
			continue
		}
		for i := range namespaces {
			ns := &namespaces[i]
			if declaresAt(a, b, k, ns.Name) && a.scope.Covers(k.kind, ns.Name, k.name, nil, ns.Labels) && b.scope.Covers(k.kind, ns.Name, k.name, nil, ns.Labels) {
				return k.kind + " " + ns.Name + "/" + k.name
			}
		}
		for _, ns := range a.rb.Spec.Scope.Namespaces {
			if declaresAt(a, b, k, ns) && a.scope.Covers(k.kind, ns, k.name, nil, nil) && b.scope.Covers(k.kind, ns, k.name, nil, nil) {
				return k.kind + " " + ns + "/" + k.name
			}
		}
	}
	return ""
}

// declaresAt: both baselines declare k in namespace ns (a declaration may list its namespaces).
func declaresAt(a, b baselineScope, k declKey, ns string) bool {
	at := func(spec *v1alpha1.RoleBaselineSpec) bool {
		if k.kind == drift.KindRole {
			return spec.RoleAt(k.kind, ns, k.name) != nil
		}
		return spec.BindingAt(k.kind, ns, k.name) != nil
	}
	return at(&a.rb.Spec) && at(&b.rb.Spec)
}
