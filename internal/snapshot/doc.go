// Package snapshot writes RoleBaselines that declare exactly a set of live RBAC
// objects, so a cluster's existing RBAC can be adopted as its baseline and judged
// from there. It is the engine of `kubectl guardrails snapshot`; a baseline it writes
// evaluates to no drift against the objects it was written from.
package snapshot
