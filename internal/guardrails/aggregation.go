package guardrails

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// aggregateLabel is the label prefix the bootstrap admin, edit and view roles select
// on: a ClusterRole labelled aggregate-to-<role>: "true" has its rules copied into
// <role> by the aggregation controller.
const aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"

// defaultFeeds are the default roles each label reaches in the bootstrap policy,
// where view is labelled aggregate-to-edit and edit aggregate-to-admin.
var defaultFeeds = map[string][]string{
	"admin": {"admin"},
	"edit":  {"admin", "edit"},
	"view":  {"admin", "edit", "view"},
}

// DefaultRoles are the user-facing ClusterRoles of the bootstrap policy that
// aggregate labelled ClusterRoles.
var DefaultRoles = []string{"admin", "edit", "view"}

// LabelledDefaults returns the default roles a ClusterRole's labels aggregate it
// into, as the bootstrap policy wires them, sorted; nil when it carries no such label.
func LabelledDefaults(labels map[string]string) []string {
	if len(labels) == 0 {
		return nil // most ClusterRoles: every ClusterRole change asks
	}
	var out []string
	for _, d := range defaultLabels {
		if labels[d.label] == "true" {
			out = append(out, d.feeds...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// defaultLabels are the aggregation labels of defaultFeeds, made once.
var defaultLabels = func() []labelFeeds {
	out := make([]labelFeeds, 0, len(DefaultRoles))
	for _, role := range DefaultRoles {
		out = append(out, labelFeeds{aggregateLabel + role, defaultFeeds[role]})
	}
	return out
}()

type labelFeeds struct {
	label string
	feeds []string
}

// Aggregation is what the default-role-aggregation rule judges: a ClusterRole labelled
// into admin, edit or view.
type Aggregation struct {
	Labels map[string]string
	// Rules are the ClusterRole's effective rules: what it adds to the roles it feeds.
	Rules []rbacv1.PolicyRule
	// Feeds are the live aggregated ClusterRoles that take its rules, sorted; when
	// empty (none is live, or judged offline) the bootstrap wiring is assumed.
	Feeds []string
	// Subjects are those bound to the default roles it feeds, sorted; Bound counts them
	// when Subjects holds only the first few.
	Subjects []rbacv1.Subject
	Bound    int
}

// shownSubjects bounds the subjects a message names.
const shownSubjects = 5

// MatchAggregation reports a ClusterRole labelled into a default role, if the rule
// is in enabled. Its grade weighs what the role adds to everyone bound to admin, edit
// or view: a dangerous permission keeps the severity, other writes are one step
// lower, and reads two.
func MatchAggregation(a *Aggregation, enabled Set) (Match, bool) {
	i := index[v1alpha1.GuardrailDefaultRoleAggregation]
	if enabled&(1<<uint(i)) == 0 {
		return Match{}, false
	}
	defaults := LabelledDefaults(a.Labels)
	if len(defaults) == 0 {
		return Match{}, false
	}
	feeds := a.Feeds
	if len(feeds) == 0 {
		feeds = defaults
	}
	m := Match{ID: catalog[i].ID, Rules: slices.Clone(a.Rules), Subjects: slices.Clone(a.Subjects)}
	var what string
	switch {
	case len(dangerous(a.Rules, false)) > 0:
		what = "a dangerous permission"
	case grantClass(a.Rules, false) == grantsMore:
		m.Lower, what = 1, "writes"
	default:
		m.Lower, what = 2, "read access"
	}
	m.Note = fmt.Sprintf("feeds ClusterRoles %s, adding %s for every subject bound to them%s",
		strings.Join(feeds, ", "), what, boundText(a))
	return m, true
}

func boundText(a *Aggregation) string {
	n := max(a.Bound, len(a.Subjects))
	if n == 0 {
		return " (none in scope yet)"
	}
	names := make([]string, 0, min(len(a.Subjects), shownSubjects))
	for _, s := range a.Subjects[:min(len(a.Subjects), shownSubjects)] {
		names = append(names, DescribeSubject(s))
	}
	more := ""
	if n > len(names) {
		more = fmt.Sprintf(" and %d more", n-len(names))
	}
	return fmt.Sprintf(" (%d in scope: %s%s)", n, strings.Join(names, ", "), more)
}

// DescribeSubject names a subject as messages do: "ServiceAccount ns/name", "User alice".
func DescribeSubject(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return "ServiceAccount " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}
