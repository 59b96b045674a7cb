package operator

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// DiscoverServer reads what the engine judges by from the API server: its version
// (get alone opens pods/exec before 1.35 only) and the cluster-scoped resources it
// serves, custom resources included (a Role cannot grant them). A partial discovery
// (an aggregated API down) keeps what was found; the built-in list covers the rest.
func DiscoverServer(cfg *rest.Config) (guardrails.Server, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return guardrails.Server{}, err
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return guardrails.Server{}, fmt.Errorf("reading the API server's version: %w", err)
	}
	v, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		return guardrails.Server{}, fmt.Errorf("reading the API server's version %q: %w", info.GitVersion, err)
	}
	lists, err := dc.ServerPreferredResources()
	var scoped []string
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !r.Namespaced && !strings.Contains(r.Name, "/") {
				scoped = append(scoped, gv.Group+"/"+r.Name)
			}
		}
	}
	srv := guardrails.NewServer(int(v.Major()), int(v.Minor()), scoped)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return srv, fmt.Errorf("discovering the API server's resources: %w", err)
	}
	return srv, nil
}
