package controllers

// ReconcilesTotal is observed by the envtest specs (package controllers_test).
var ReconcilesTotal = reconcilesTotal
