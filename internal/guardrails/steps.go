package guardrails

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
)

// StepKind is a way a grant lets its holder act as other identities, or grant itself
// more: the steps of an escalation path.
type StepKind int

const (
	// StepWorkload: create pods or workload controllers, whose pods may run as any
	// ServiceAccount of the namespace and so hold its permissions.
	StepWorkload StepKind = iota
	// StepToken: create serviceaccounts/token, a token of the named ServiceAccounts.
	StepToken
	// StepImpersonateUser, Group, ServiceAccount: act as the named identities.
	StepImpersonateUser
	StepImpersonateGroup
	StepImpersonateServiceAccount
	// StepBind: bind roles (and create bindings): grant oneself the named roles.
	StepBind
	// StepEscalate: escalate roles (and write them): grant oneself any permission.
	StepEscalate
	// StepNodesProxy: nodes/proxy reaches the kubelet API, so exec in any pod of the
	// node as its ServiceAccount.
	StepNodesProxy
	// StepCSR: create and approve client certificate requests, for any user or group.
	StepCSR
)

// stepText names each step in a path.
var stepText = map[StepKind]string{
	StepWorkload:                  "create pods",
	StepToken:                     "create serviceaccounts/token",
	StepImpersonateUser:           "impersonate users",
	StepImpersonateGroup:          "impersonate groups",
	StepImpersonateServiceAccount: "impersonate serviceaccounts",
	StepBind:                      "bind roles",
	StepEscalate:                  "escalate roles",
	StepNodesProxy:                "nodes/proxy (kubelet exec)",
	StepCSR:                       "approve client certificates",
}

func (k StepKind) String() string { return stepText[k] }

// Step is one way out of a grant. Names narrows it (to ServiceAccount, user, group
// or role names); nil means any.
type Step struct {
	Kind  StepKind
	Names []string
}

var (
	workloadCreates = reqs(
		req("", "pods", "create"), req("", "replicationcontrollers", "create"),
		req("apps", "deployments", "create"), req("apps", "replicasets", "create"), req("apps", "statefulsets", "create"),
		req("apps", "daemonsets", "create"), req("batch", "jobs", "create"), req("batch", "cronjobs", "create"))
	tokenCreate   = req("", "serviceaccounts/token", "create")[0]
	impersonation = map[StepKind]rbacv1.PolicyRule{
		StepImpersonateUser:           req("", "users", "impersonate")[0],
		StepImpersonateGroup:          req("", "groups", "impersonate")[0],
		StepImpersonateServiceAccount: req("", "serviceaccounts", "impersonate")[0],
	}
	bindVerbs      = reqs(req(rbacv1.GroupName, "roles", "bind"), req(rbacv1.GroupName, "clusterroles", "bind"))
	bindingWrites  = reqs(req(rbacv1.GroupName, "rolebindings", "create"), req(rbacv1.GroupName, "clusterrolebindings", "create"))
	escalateVerbs  = reqs(req(rbacv1.GroupName, "roles", "escalate"), req(rbacv1.GroupName, "clusterroles", "escalate"))
	roleWrites     = reqs(req(rbacv1.GroupName, "roles", "create", "update", "patch"), req(rbacv1.GroupName, "clusterroles", "create", "update", "patch"))
	nodesProxy     = reqs(req("", "nodes/proxy", "get", "create"))
	csrCreate      = req("certificates.k8s.io", "certificatesigningrequests", "create")[0]
	csrApprove     = req("certificates.k8s.io", "certificatesigningrequests/approval", "update")[0]
	clientSigner   = rbacv1.PolicyRule{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, Verbs: []string{"approve"}, ResourceNames: []string{"kubernetes.io/kube-apiserver-client"}}
	stepResources  = []string{"pods", "replicationcontrollers", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "serviceaccounts/token", "users", "groups", "serviceaccounts", "roles", "clusterroles", "nodes/proxy", "certificatesigningrequests/approval", "*"}
	stepVerbMarker = []string{"create", "impersonate", "bind", "escalate", "get", "*"}
)

// Steps returns the steps a role's effective rules grant. A namespaced Role (or a
// RoleBinding of a ClusterRole) reaches only its namespace: no cluster-scoped step
// (nodes/proxy, CSR approval, impersonating users or groups).
func Steps(rules []rbacv1.PolicyRule, namespaced bool) []Step {
	if !mayStep(rules) {
		return nil
	}
	var out []Step
	if anyCovered(rules, workloadCreates) {
		out = append(out, Step{Kind: StepWorkload})
	}
	if s, ok := namedStep(rules, StepToken, tokenCreate); ok {
		out = append(out, s)
	}
	for _, k := range []StepKind{StepImpersonateUser, StepImpersonateGroup, StepImpersonateServiceAccount} {
		if namespaced && k != StepImpersonateServiceAccount {
			continue // users and groups are cluster-scoped
		}
		if s, ok := namedStep(rules, k, impersonation[k]); ok {
			out = append(out, s)
		}
	}
	if anyCovered(rules, bindingWrites) {
		var names []string
		full := false
		for i := range bindVerbs {
			q := &bindVerbs[i]
			if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{*q}); ok {
				full = true
			} else {
				names = append(names, namedCover(rules, q)...)
			}
		}
		switch {
		case full:
			out = append(out, Step{Kind: StepBind})
		case len(names) > 0:
			slices.Sort(names)
			out = append(out, Step{Kind: StepBind, Names: slices.Compact(names)})
		}
	}
	if anyCovered(rules, escalateVerbs) && anyCovered(rules, roleWrites) {
		out = append(out, Step{Kind: StepEscalate})
	}
	if !namespaced {
		if anyCovered(rules, nodesProxy) {
			out = append(out, Step{Kind: StepNodesProxy})
		}
		if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{csrCreate, csrApprove, clientSigner}); ok {
			out = append(out, Step{Kind: StepCSR})
		}
	}
	return out
}

// mayStep is the fast path: most roles name none of the verbs and resources a step needs.
func mayStep(rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		r := &rules[i]
		if slices.ContainsFunc(r.Verbs, func(v string) bool { return slices.Contains(stepVerbMarker, v) || v == "update" }) &&
			slices.ContainsFunc(r.Resources, func(res string) bool {
				return slices.Contains(stepResources, res) || len(res) > 2 && res[:2] == "*/"
			}) {
			return true
		}
	}
	return false
}

func anyCovered(rules []rbacv1.PolicyRule, qs []rbacv1.PolicyRule) bool {
	for i := range qs {
		if ok, _ := validation.Covers(rules, qs[i:i+1]); ok {
			return true
		}
	}
	return false
}

// namedStep: q granted in full, or for some names.
func namedStep(rules []rbacv1.PolicyRule, k StepKind, q rbacv1.PolicyRule) (Step, bool) {
	if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{q}); ok {
		return Step{Kind: k}, true
	}
	if names := namedCover(rules, &q); len(names) > 0 {
		slices.Sort(names)
		return Step{Kind: k, Names: slices.Compact(names)}, true
	}
	return Step{}, false
}

// Allows reports whether the step reaches name (nil Names: any).
func (s Step) Allows(name string) bool { return s.Names == nil || slices.Contains(s.Names, name) }
