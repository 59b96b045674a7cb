package guardrails

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// clusterScoped are the cluster-scoped resources Kubernetes 1.37 serves, by API group
// (`kubectl api-resources --namespaced=false`). A namespaced Role cannot grant them:
// the RBAC authorizer applies a RoleBinding's rules to requests in its namespace only,
// and a request for a cluster-scoped resource has none. Resources of other groups
// (custom resources) are taken for namespaced unless discovery (SetServer) says
// otherwise: reporting them stays the safe side.
var clusterScoped = map[string]map[string]bool{
	"":                             set("nodes", "namespaces", "persistentvolumes", "componentstatuses"),
	"rbac.authorization.k8s.io":    set("clusterroles", "clusterrolebindings"),
	"admissionregistration.k8s.io": set("mutatingwebhookconfigurations", "validatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"),
	"certificates.k8s.io":          set("certificatesigningrequests", "signers", "clustertrustbundles"),
	"apiextensions.k8s.io":         set("customresourcedefinitions"),
	"apiregistration.k8s.io":       set("apiservices"),
	"storage.k8s.io":               set("storageclasses", "csinodes", "csidrivers", "volumeattachments", "volumeattributesclasses"),
	"scheduling.k8s.io":            set("priorityclasses"),
	"node.k8s.io":                  set("runtimeclasses"),
	"networking.k8s.io":            set("ingressclasses", "ipaddresses", "servicecidrs"),
	"authentication.k8s.io":        set("tokenreviews", "selfsubjectreviews"),
	"authorization.k8s.io":         set("subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
	"flowcontrol.apiserver.k8s.io": set("flowschemas", "prioritylevelconfigurations"),
	"resource.k8s.io":              set("deviceclasses", "resourceslices"),
	"internal.apiserver.k8s.io":    set("storageversions"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// HasClusterScoped reports whether group serves any cluster-scoped resource, built in
// or discovered (SetServer).
func HasClusterScoped(group string) bool {
	if clusterScoped[group] != nil {
		return true
	}
	s := current.Load()
	return s != nil && s.clusterScoped[group] != nil
}

// ClusterScoped reports whether resource (or resource/subresource) of group is a
// cluster-scoped resource, built in or discovered: a Role granting it grants nothing.
func ClusterScoped(group, resource string) bool {
	base, _, _ := strings.Cut(resource, "/")
	if clusterScoped[group][base] {
		return true
	}
	s := current.Load()
	return s != nil && s.clusterScoped[group][base]
}

// OwnNamespace reports whether resource (or resource/subresource) of the core group
// is the Namespace object, which a Role does grant for its own namespace: a request
// for one namespace (/api/v1/namespaces/X) carries X as its namespace (the API
// server's RequestInfo), so a RoleBinding in X allows get, update, patch and delete
// of namespace X and of its status and finalize subresources. Requests about every
// namespace (list, watch, create, deletecollection) carry none.
func OwnNamespace(group, resource string) bool {
	base, _, _ := strings.Cut(resource, "/")
	return group == "" && base == "namespaces"
}

// NamespacedVerb reports whether a request of verb on a cluster-scoped resource still
// carries a namespace, so a Role (through its RoleBinding) grants it:
//   - namespaces: a request for one namespace carries it (see OwnNamespace);
//   - clusterroles, bind: a RoleBinding's roleRef is authorized with the binding's
//     namespace (the RBAC escalation check, BindingAuthorized), so a Role may let
//     its holders bind a ClusterRole in its namespace.
func NamespacedVerb(group, resource, verb string) bool {
	base, sub, _ := strings.Cut(resource, "/")
	switch {
	case OwnNamespace(group, resource):
		return !NamelessVerb(verb)
	case group == rbacv1.GroupName && base == "clusterroles" && sub == "":
		return verb == "bind" || verb == rbacv1.VerbAll
	}
	return false
}

// PartlyNamespaced reports whether some verb of a cluster-scoped resource carries a
// namespace (NamespacedVerb).
func PartlyNamespaced(group, resource string) bool {
	return OwnNamespace(group, resource) || group == rbacv1.GroupName && resource == "clusterroles"
}

// NamelessVerb reports whether a verb's requests never name one object, so a Role
// cannot grant it on its own Namespace.
func NamelessVerb(verb string) bool {
	switch verb {
	case "list", "watch", "create", "deletecollection":
		return true
	}
	return false
}

// requestClusterScoped: every group of a catalog request names its resource as
// cluster-scoped, and a Role cannot grant it (see OwnNamespace).
func requestClusterScoped(q *rbacv1.PolicyRule) bool {
	for _, g := range q.APIGroups {
		for _, res := range q.Resources {
			if !ClusterScoped(g, res) || !slices.ContainsFunc(q.Verbs, func(v string) bool { return !NamespacedVerb(g, res, v) }) {
				return false
			}
		}
	}
	return len(q.APIGroups) > 0 && len(q.Resources) > 0
}
