// Package operator wires the operator together, once, for main and for every test
// suite: Setup adds the registry's feed, the status and Enforce controllers, the
// admission webhooks and the audit intake to a manager, and Options.BindFlags binds
// each subsystem's flags. Tests call Setup with DefaultOptions, so they run what ships.
package operator
