// Package controllers holds the operator's reconcilers. They stay thin: read the
// cache, call the drift engine, patch status once, emit events on change.
package controllers

// The operator's own permissions, generated into config/rbac/role.yaml by
// `make manifests`. No wildcards: each resource and verb is named.
//
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=rolebaselines,verbs=get;list;watch
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=rolebaselines/status,verbs=get;update;patch
// Journal entries are owned by their baseline (blockOwnerDeletion needs finalizers).
// +kubebuilder:rbac:groups=guardrails.rbac-guardrails.io,resources=rolebaselines/finalizers,verbs=update
// Enforce mode writes RBAC. escalate lets it write a role granting what the operator
// does not hold, bind lets it bind such a role: both are needed to put any baseline
// back, and they are why only trusted people may edit baselines (see docs/enforce.md).
//
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles;rolebindings;clusterrolebindings,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles,verbs=escalate
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles,verbs=bind
//
// The journal lives in the operator's own namespace: a Role, not a ClusterRole.
// +kubebuilder:rbac:groups="",namespace=system,resources=configmaps,verbs=get;list;create;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
