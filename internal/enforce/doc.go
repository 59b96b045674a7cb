// Package enforce is what Enforce mode does and remembers for each baseline: it
// checks the admission approval, reverts one object or one baseline within the
// per-object guard and the operator-wide budget (Enforcer.Revert), journals and
// announces each revert, and reports its outcomes into the status the status
// controller writes (State.Report). The Enforce controller calls it; the decisions it
// applies (what to revert, how often, what is a fight) live in internal/revert.
//
// It must not import controllers or internal/webhook.
package enforce
