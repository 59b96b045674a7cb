package controllers

// ReconcilesTotal is observed by the envtest specs (package controllers_test).
var ReconcilesTotal = reconcilesTotal

// GrantTransitionsTotal is observed by the AccessGrant specs.
var GrantTransitionsTotal = grantTransitionsTotal
