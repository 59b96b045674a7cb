package webhook

import (
	"slices"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// DefaultExemptUsers are the Kubernetes controllers whose RBAC writes must never be
// blocked: the namespace controller empties a terminating namespace (declared Roles
// included), the garbage collector deletes owned objects, and the aggregation
// controller writes aggregated ClusterRoles' rules. kube-controller-manager runs them
// under these ServiceAccounts, or as system:kube-controller-manager without
// --use-service-account-credentials.
var DefaultExemptUsers = []string{
	"system:kube-controller-manager",
	"system:serviceaccount:kube-system:namespace-controller",
	"system:serviceaccount:kube-system:generic-garbage-collector",
	"system:serviceaccount:kube-system:clusterrole-aggregation-controller",
}

// Exemptions is the break-glass: requests from these users or groups, and objects in
// these namespaces, pass the RBAC webhook without evaluation.
type Exemptions struct {
	Users      sets.Set[string]
	Groups     sets.Set[string]
	Namespaces sets.Set[string]
}

// NewExemptions builds Exemptions; empty strings are ignored.
func NewExemptions(users, groups, namespaces []string) Exemptions {
	clean := func(xs []string) sets.Set[string] {
		return sets.New(slices.DeleteFunc(slices.Clone(xs), func(s string) bool { return s == "" })...)
	}
	return Exemptions{Users: clean(users), Groups: clean(groups), Namespaces: clean(namespaces)}
}

// ServiceAccountUser is the user name a ServiceAccount authenticates as.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// Exempt reports whether a requester is exempt and, if so, why.
func (x Exemptions) Exempt(u authenticationv1.UserInfo) (bool, string) {
	if x.Users.Has(u.Username) {
		return true, "user " + u.Username + " is exempt"
	}
	for _, g := range u.Groups {
		if x.Groups.Has(g) {
			return true, "group " + g + " is exempt"
		}
	}
	return false, ""
}

// Excluded reports whether objects in a namespace are never evaluated.
func (x Exemptions) Excluded(namespace string) bool {
	return namespace != "" && x.Namespaces.Has(namespace)
}
