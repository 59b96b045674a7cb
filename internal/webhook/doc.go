// Package webhook holds the admission handlers: one that stops RBAC changes an
// Enforce baseline forbids before they are stored (and warns for Audit baselines),
// and one that validates RoleBaselines beyond what the schema can say, including
// that a baseline cannot make the operator grant what its author could not.
//
// The handlers have no side effects (sideEffects=None), so server-side dry runs are
// judged like real writes. They decide with the controller's own drift evaluators
// through the Previewer interface; there is no second implementation of the rules.
package webhook
