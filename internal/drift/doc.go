// Package drift is the engine that decides what is drift: given a RoleBaseline spec and
// a snapshot of live RBAC objects it returns a deterministic, sorted list of findings.
// It is pure: no client, no clock, no logging, and it never modifies its inputs.
// Controllers, the admission webhook and the CLI all call it.
//
// Entry points: Evaluate for a one-shot evaluation; an Evaluator (NewEvaluator, Load,
// Upsert, Delete, Findings, Top, Counts) kept per baseline to follow informer events
// with work proportional to the change; Evaluator.Preview for what a proposed change
// would introduce, without keeping it (the admission webhook); CompileScope to map an
// RBAC event to the baselines that cover it.
//
// Decisions the API leaves open:
//   - Rules are compared with validation.Covers both ways; the reported rules are the
//     uncovered pieces (validation.BreakdownRule) merged back into few rules. Order,
//     duplicates and split-vs-merged rules are not drift.
//   - An aggregated ClusterRole is compared by its aggregationRule (selectors as a set).
//     Live selectors the declaration lacks are RulesAdded, declared ones the live role
//     lacks (or no aggregationRule at all) RulesRemoved; both carry no rules, only a
//     message. A live aggregated ClusterRole declared with plain rules is one RulesAdded
//     finding saying so; its controller-written rules are not compared.
//   - Subjects are compared as sets after rbac/v1 defaulting (User and Group apiGroup
//     rbac.authorization.k8s.io, ServiceAccount ""). A ServiceAccount subject without a
//     namespace on a RoleBinding means the binding's namespace, as the RBAC authorizer
//     reads it.
//   - A declared Role or RoleBinding is expected in every existing namespace the scope
//     selects. A namespace listed by name that does not exist yet expects nothing, so
//     no Missing finding appears before the namespace does.
//   - Declared objects are exempt from objectSelector only; explicit exclusions and,
//     without includeSystem, the default exclusions still apply to them. The bootstrap
//     names (cluster-admin, admin, edit, view) are excluded only for ClusterRoles and
//     ClusterRoleBindings: a RoleBinding called admin in a namespace is a user object.
//   - Ceilings: a subject's grants are the roles of every in-scope binding naming it or
//     a group it is implicitly in (system:authenticated for users and ServiceAccounts,
//     system:serviceaccounts and system:serviceaccounts:<ns> for ServiceAccounts,
//     system:unauthenticated for system:anonymous). Roles are resolved from the whole
//     snapshot, in scope or not. A RoleBinding does not grant nonResourceURLs. One
//     ExceedsCeiling finding per (subject, granting binding), on the binding.
//   - Role guardrails are reported on the role only, not again on every binding that
//     grants it. An exception with subjects never exempts a role (roles have no
//     subject); for binding guardrails it removes those subjects from the finding.
//   - Severities: guardrail findings take the catalog (or overridden) severity;
//     RulesAdded, SubjectsAdded, RoleRefChanged and ExceedsCeiling are High; Missing
//     and Unexpected Medium; RulesRemoved and SubjectsRemoved Low.
//
// It must not import controller-runtime or client-go (depguard enforces it), nor any package of the project but api/ and internal/guardrails and internal/text.
package drift
