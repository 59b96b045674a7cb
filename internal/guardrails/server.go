package guardrails

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Server is what the engine knows of the API server it judges: its version, which
// decides what some verbs allow, and the cluster-scoped resources it serves beyond
// the built-in list (custom resources, found by discovery). The zero Server is an
// API server of unknown version with only the built-in resources.
type Server struct {
	// Major and Minor are the API server's version; 0.0 when unknown.
	Major, Minor int
	// clusterScoped are discovered cluster-scoped resources by API group.
	clusterScoped map[string]map[string]bool
}

// NewServer returns the facts of an API server of version major.minor that serves
// the given cluster-scoped resources ("group/resource", core group as "/resource"
// or "resource") besides the built-in ones.
func NewServer(major, minor int, clusterScoped []string) Server {
	s := Server{Major: major, Minor: minor}
	for _, gr := range clusterScoped {
		g, r, ok := strings.Cut(gr, "/")
		if !ok {
			g, r = "", gr
		}
		if s.clusterScoped == nil {
			s.clusterScoped = map[string]map[string]bool{}
		}
		if s.clusterScoped[g] == nil {
			s.clusterScoped[g] = map[string]bool{}
		}
		s.clusterScoped[g][r] = true
	}
	return s
}

// Known reports whether the version is known.
func (s Server) Known() bool { return s.Major > 0 }

// AtLeast reports whether the version is known and at least major.minor.
func (s Server) AtLeast(major, minor int) bool {
	return s.Known() && (s.Major > major || s.Major == major && s.Minor >= minor)
}

// String names the version for messages.
func (s Server) String() string {
	if !s.Known() {
		return "an API server of unknown version"
	}
	return fmt.Sprintf("Kubernetes %d.%d", s.Major, s.Minor)
}

// current holds the facts every evaluation reads. The operator sets them once at
// start from discovery, before it builds any evaluator; tools that judge files
// offline leave the zero Server.
var current atomic.Pointer[Server]

// SetServer makes s the API server every later evaluation judges for. Evaluators
// built before keep what they computed, so call it before building any.
func SetServer(s Server) { current.Store(&s) }

// CurrentServer returns the facts SetServer stored, or the zero Server.
func CurrentServer() Server {
	if s := current.Load(); s != nil {
		return *s
	}
	return Server{}
}

// Lower returns the severity steps below s, never below Low.
func Lower(s v1alpha1.Severity, steps int) v1alpha1.Severity {
	i := slices.Index(v1alpha1.Severities, s)
	if i < 0 || steps <= 0 {
		return s
	}
	return v1alpha1.Severities[max(0, i-steps)]
}
