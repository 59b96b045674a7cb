// Package report is what a baseline's status and events say: the status computed from
// its evaluator (findings, counts, Ready, InSync, who changed what), the events of
// what changed since the last pass within a per-baseline budget, the findings metrics,
// and the audit sources that name writers and supply usage. The status controller
// calls it and writes the status once.
//
// It must not import controllers or internal/webhook.
package report
