package controllers

// Internals the envtest specs (package controllers_test) observe.
var ReconcilesTotal = reconcilesTotal

const EventBurst = eventBurst
