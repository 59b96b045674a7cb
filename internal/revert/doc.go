// Package revert plans and applies the writes that put live RBAC back on a baseline,
// journaling each object's prior state first so an undo restores it exactly.
//
// Planning is pure: findings and live objects in, actions out. Applying writes
// through a client with resourceVersion preconditions.
//
// It must not import controllers, internal/registry, internal/enforce or internal/webhook: the decisions here are pure and shared.
package revert
