// Package registry owns the per-baseline incremental drift evaluators: one
// drift.Evaluator per RoleBaseline, loaded from the informer cache and fed every RBAC
// and Namespace change on every replica (Feed, a manager Runnable that does not need
// leader election). Its users read it: the status and Enforce controllers subscribe to
// its changes as a watch source and read counts, Top, the change log and findings; the
// admission webhook asks Preview.
//
// It holds no status, event or Enforce memory: those belong to their controllers. It
// must not import controllers, internal/webhook or internal/audit.
package registry
