package cli

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/operator"
)

// live is a connection to the cluster of the current context.
type live struct {
	c         client.Client
	namespace string       // -n, or the context's
	note      func(string) // progress on stderr when it is a terminal; nil otherwise
}

// connect builds a client from the kubectl flags and makes the engine judge for the
// API server's version and resources, as the operator does.
func connect(env *env) (*live, error) {
	cfg, err := env.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	srv, err := operator.DiscoverServer(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	guardrails.SetServer(srv)
	ns, _, err := env.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	return &live{c: c, namespace: ns, note: notes(env)}, nil
}

// snapshot lists the live RBAC and namespaces; only those namespaces' Roles and
// RoleBindings when namespaces is set (and no cluster-scoped objects then).
func (l *live) snapshot(ctx context.Context, namespaces []string) (*drift.Snapshot, error) {
	s := &drift.Snapshot{}
	var nss corev1.NamespaceList
	if err := l.c.List(ctx, &nss); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	s.Namespaces = nss.Items
	defer l.progress(s, true)
	lists := func(ns string) error {
		l.progress(s, false)
		var roles rbacv1.RoleList
		var bindings rbacv1.RoleBindingList
		if err := l.c.List(ctx, &roles, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("listing Roles: %w", err)
		}
		if err := l.c.List(ctx, &bindings, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("listing RoleBindings: %w", err)
		}
		s.Roles = append(s.Roles, roles.Items...)
		s.RoleBindings = append(s.RoleBindings, bindings.Items...)
		return nil
	}
	if len(namespaces) > 0 {
		for _, ns := range namespaces {
			if err := lists(ns); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	if err := lists(""); err != nil {
		return nil, err
	}
	l.progress(s, false)
	var crs rbacv1.ClusterRoleList
	var crbs rbacv1.ClusterRoleBindingList
	if err := l.c.List(ctx, &crs); err != nil {
		return nil, fmt.Errorf("listing ClusterRoles: %w", err)
	}
	if err := l.c.List(ctx, &crbs); err != nil {
		return nil, fmt.Errorf("listing ClusterRoleBindings: %w", err)
	}
	s.ClusterRoles, s.ClusterRoleBindings = crs.Items, crbs.Items
	return s, nil
}

// baselines lists the cluster's RoleBaselines.
func (l *live) baselines(ctx context.Context) ([]v1alpha1.RoleBaseline, error) {
	var list v1alpha1.RoleBaselineList
	if err := l.c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing RoleBaselines (is the CRD installed?): %w", err)
	}
	return list.Items, nil
}

// progress says how much RBAC was listed so far, and ends the line when done.
func (l *live) progress(s *drift.Snapshot, done bool) {
	if l.note == nil {
		return
	}
	msg := fmt.Sprintf("listing RBAC: %d Roles, %d RoleBindings, %d ClusterRoles, %d ClusterRoleBindings",
		len(s.Roles), len(s.RoleBindings), len(s.ClusterRoles), len(s.ClusterRoleBindings))
	if done {
		msg += "\n"
	}
	l.note(msg)
}
