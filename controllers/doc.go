// Package controllers holds the operator's two reconcilers, both thin. The
// RoleBaseline controller writes each baseline's status once per reconcile, from
// what internal/report makes of the registry's evaluator and what internal/enforce
// did. The Enforce controller reverts each object whose findings moved in an Enforce
// baseline, through internal/enforce. Neither holds state of its own; both read
// internal/registry, which the webhook reads too. internal/operator wires them.
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
