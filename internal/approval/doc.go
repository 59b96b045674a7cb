// Package approval records who approved what an Enforce baseline makes the operator
// write, so the controller acts only on a spec someone entitled to those writes
// submitted through the admission webhook.
//
// The webhook judges the author of each Enforce baseline (create, update, or a touch
// by an admin to re-approve) and, when the author may make every write the baseline
// asks for, saves a Record: the baseline's UID and the hash of the parts of its spec
// that decide those writes. The controller compares that hash with the spec it
// enforces and writes nothing when they differ (the webhook was down, bypassed, or
// failed open). Records live as ConfigMaps in the operator's namespace, which baseline
// editors cannot write; they survive restarts and every replica reads the same ones.
//
// It imports no controller and no webhook.
//
// +kubebuilder:rbac:groups="",namespace=system,resources=configmaps,verbs=get;create;update;delete
//
// It must not import controllers, internal/registry or internal/webhook: both sides read it.
package approval
