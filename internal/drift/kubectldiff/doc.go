// Package kubectldiff holds the differential test of the drift engine against
// `kubectl auth reconcile` on a real API server. It is a package of its own so the
// engine's unit and fuzz tests build without envtest.
package kubectldiff
