// Package controllers holds the operator's reconcilers. They stay thin: read the
// cache, call the drift engine, patch status once, emit events on change.
package controllers

// The operator's own permissions, generated into config/rbac/role.yaml by
// `make manifests`. No wildcards: each resource and verb is named.
//
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=rolebaselines,verbs=get;list;watch
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=rolebaselines/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles;rolebindings;clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces;serviceaccounts,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
