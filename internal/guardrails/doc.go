// Package guardrails is the catalog of dangerous RBAC permissions: what must never be
// granted in a baseline's scope unless an exception allows it. Matching is semantic:
// a role matches a rule when its rules cover one of the rule's dangerous requests,
// decided by k8s.io/component-helpers/auth/rbac/validation.Covers, so wildcards in
// verbs, resources, apiGroups and */subresource cannot be used to slip past it.
//
// Consequences of matching by coverage, as the RBAC authorizer grants:
//   - A rule limited by resourceNames does not match: it does not grant the request
//     for every object (get on one named Secret is not secrets-read).
//   - resources ["nodes/*"] does not match nodes-proxy: Kubernetes RBAC knows "*" and
//     "*/subresource" only, so "nodes/*" grants nothing but a resource literally named so.
//     wildcard-access flags it all the same.
//   - csr-approval needs both writes to certificatesigningrequests/approval and approve
//     on signers, in the same role, because approving takes both.
//
// wildcard-access is the one syntactic rule: it flags * in verbs, any * in resources,
// and the nonResourceURL "*", because CIS 5.1.3 is about the wildcard itself.
//
// It must not import any package of the project but api/.
package guardrails
