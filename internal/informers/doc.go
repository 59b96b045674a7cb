// Package informers holds the manager's informer cache options, shared by main and
// every test: managed fields trimmed to who wrote last, and lists and watches that
// retry an unreachable API server in place instead of backing off. It also says which
// API errors mean the API server did not answer (Unreachable). It must not import any
// other package of the project but internal/revert and internal/drift.
package informers
