package cli

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/auditlog"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/snapshot"
)

type suggestOptions struct {
	logs     []string
	since    string
	subjects []string
	files    []string
	name     string
	output   string
}

func newSuggest(env *env) *cobra.Command {
	o := &suggestOptions{}
	cmd := &cobra.Command{
		Use:   "suggest --audit-log FILE|DIR [--since 30d] [--subject SUBJECT] [-f RBAC]",
		Short: "Tighten roles to what the audit log shows was used",
		Long: `suggest reads the API server's audit log (JSON lines, Metadata level or higher,
rotated and gzipped files too) and, for each role bound in the cluster (or in -f),
keeps what its subjects used within --since of the newest event and drops the rest:
a fully used rule stays as written, a partly used one keeps its used pieces, and a
wildcard rule becomes the requests it allowed. Names and bindings stay. The output is
RoleBaselines declaring the tightened roles (-o roles: the Roles and ClusterRoles
alone), with a header saying, per subject, what it used and, per role, what went.

Roles nobody is bound to, aggregated ClusterRoles (the aggregation controller
writes their rules) and, as in snapshot, the bootstrap policy are left as they are.
Check the suggestion against the same log with simulate before enforcing it.`,
		Example: `  kubectl guardrails suggest --audit-log /var/log/kubernetes/audit/ --since 30d > tightened.yaml
  kubectl guardrails simulate --audit-log /var/log/kubernetes/audit/ -f tightened.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, env) },
	}
	cmd.Flags().StringSliceVar(&o.logs, "audit-log", nil, "audit log files or directories (required)")
	cmd.Flags().StringVar(&o.since, "since", "30d", "usage window before the newest event: e.g. 30d, 12h")
	cmd.Flags().StringSliceVar(&o.subjects, "subject", nil, "only roles bound to these subjects (User:NAME, Group:NAME, ServiceAccount:NS:NAME)")
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "read the RBAC from files, directories or - (stdin) instead of the cluster")
	cmd.Flags().StringVar(&o.name, "name", "suggested", "prefix of the baselines' names")
	cmd.Flags().StringVarP(&o.output, "output", "o", "yaml", "output format: yaml (RoleBaselines), json (a List of them) or roles (the tightened roles as YAML)")
	return cmd
}

// parseSince reads a window as Go durations do, plus days ("30d").
func parseSince(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("--since %q: give a positive duration, e.g. 30d or 12h", s)
}

func (o *suggestOptions) run(cmd *cobra.Command, env *env) error {
	ctx := cmd.Context()
	if len(o.logs) == 0 {
		return fmt.Errorf("--audit-log is required: the API server's --audit-log-path file or its directory")
	}
	if !slices.Contains([]string{"yaml", "json", "roles"}, o.output) {
		return fmt.Errorf("--output %q: use yaml, json or roles", o.output)
	}
	since, err := parseSince(o.since)
	if err != nil {
		return err
	}
	var only []rbacv1.Subject
	for _, s := range o.subjects {
		sub, err := parseSubject(s)
		if err != nil {
			return fmt.Errorf("--subject: %w", err)
		}
		only = append(only, rbacSubject(sub))
	}
	snap, err := liveOrFiles(ctx, env, o.files)
	if err != nil {
		return err
	}
	usage, events, err := readUsage(env, o.logs, since)
	if err != nil {
		return err
	}
	if usage == nil {
		return fmt.Errorf("the audit log (%d events) records no request the RBAC authorizer allowed within --since %s: "+
			"it needs Metadata level or higher and the authorization.k8s.io annotations", events, o.since)
	}
	t := tighten(snap, usage, only)
	if o.output == "roles" {
		return writeRoles(env.streams.Out, t, t.header(events, o.since))
	}
	baselines, err := snapshot.Baselines(t.snap, snapshot.Options{Name: o.name})
	if err != nil {
		return err
	}
	return writeBaselines(env.streams.Out, o.output, baselines, t.header(events, o.since))
}

// readUsage aggregates what the log's RBAC-allowed requests used, within since of
// its newest event.
func readUsage(env *env, logs []string, since time.Duration) (*audit.Snapshot, int, error) {
	files, err := auditlog.Files(logs)
	if err != nil {
		return nil, 0, err
	}
	var newest atomic.Int64
	agg := audit.NewAggregator(since, 4_000_000, func() time.Time { return time.Unix(0, newest.Load()) })
	events, err := auditlog.Read(files, func(ev *auditv1.Event) {
		t := ev.StageTimestamp.Time
		for cur := newest.Load(); t.UnixNano() > cur && !newest.CompareAndSwap(cur, t.UnixNano()); cur = newest.Load() {
		}
		if _, a, _ := audit.Filter(ev); a != nil {
			agg.Add(*a, t)
		}
	}, progress(env, "reading the audit log"))
	if err != nil {
		return nil, events, err
	}
	agg.Prune()
	return agg.Snapshot(), events, nil
}

// tightened is a snapshot with roles cut to what was used, and what was cut.
type tightened struct {
	snap    *drift.Snapshot
	removed map[drift.ObjectRef][]rbacv1.PolicyRule // per role, what went
	used    map[rbacv1.Subject][]rbacv1.PolicyRule  // per subject, the requests it made
	kept    []string                                // roles left alone, and why
}

// tighten cuts each role bound in snap to the requests its bindings' subjects made
// through those bindings; only roles bound to one of only, when set.
func tighten(snap *drift.Snapshot, usage *audit.Snapshot, only []rbacv1.Subject) *tightened {
	t := &tightened{removed: map[drift.ObjectRef][]rbacv1.PolicyRule{}, used: map[rbacv1.Subject][]rbacv1.PolicyRule{}}
	requests := map[drift.ObjectRef][]rbacv1.PolicyRule{} // per role
	wanted := map[drift.ObjectRef]bool{}
	bound := func(binding drift.ObjectRef, role drift.ObjectRef, ns string, subjects []rbacv1.Subject) {
		if _, ok := requests[role]; !ok {
			requests[role] = []rbacv1.PolicyRule{}
		}
		for _, s := range subjects {
			n := drift.NormalizeSubject(s, ns)
			reqs := usage.Requests(binding, n)
			requests[role] = append(requests[role], reqs...)
			t.used[key(n)] = append(t.used[key(n)], reqs...)
			if len(only) == 0 || slices.ContainsFunc(only, func(o rbacv1.Subject) bool { return drift.SameSubject(o, n) }) {
				wanted[role] = true
			}
		}
	}
	for _, b := range snap.ClusterRoleBindings {
		bound(drift.ObjectRef{Kind: drift.KindClusterRoleBinding, Name: b.Name}, drift.ObjectRef{Kind: drift.KindClusterRole, Name: b.RoleRef.Name}, "", b.Subjects)
	}
	for _, b := range snap.RoleBindings {
		role := drift.ObjectRef{Kind: drift.KindClusterRole, Name: b.RoleRef.Name}
		if b.RoleRef.Kind == drift.KindRole {
			role = drift.ObjectRef{Kind: drift.KindRole, Namespace: b.Namespace, Name: b.RoleRef.Name}
		}
		bound(drift.ObjectRef{Kind: drift.KindRoleBinding, Namespace: b.Namespace, Name: b.Name}, role, b.Namespace, b.Subjects)
	}
	// As in snapshot, the bootstrap policy and system: objects are not the user's to cut.
	all := &v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, NamespaceSelector: &metav1.LabelSelector{}}}
	scope, err := drift.CompileScope(all)
	if err != nil {
		panic(err) // a fixed, valid scope
	}
	mine := func(ref drift.ObjectRef, labels map[string]string) bool {
		// The API server reconciles its bootstrap roles (rbac-defaults, autoupdate) on
		// every start: a cut would not last.
		return scope.Covers(ref.Kind, ref.Namespace, ref.Name, labels, nil) && labels["kubernetes.io/bootstrapping"] != "rbac-defaults"
	}
	out := *snap
	out.ClusterRoles = slices.Clone(snap.ClusterRoles)
	out.Roles = slices.Clone(snap.Roles)
	for i := range out.ClusterRoles {
		r := &out.ClusterRoles[i]
		ref := drift.ObjectRef{Kind: drift.KindClusterRole, Name: r.Name}
		if !mine(ref, r.Labels) {
			continue
		}
		if r.AggregationRule != nil {
			if wanted[ref] {
				t.kept = append(t.kept, ref.String()+" (aggregated: its rules are its feeders')")
			}
			continue
		}
		if reqs, ok := requests[ref]; ok && wanted[ref] {
			r.Rules = t.cut(ref, r.Rules, reqs)
		}
	}
	for i := range out.Roles {
		r := &out.Roles[i]
		ref := drift.ObjectRef{Kind: drift.KindRole, Namespace: r.Namespace, Name: r.Name}
		if !mine(ref, r.Labels) {
			continue
		}
		if reqs, ok := requests[ref]; ok && wanted[ref] {
			r.Rules = t.cut(ref, r.Rules, reqs)
		}
	}
	t.snap = &out
	return t
}

// cut keeps of rules what reqs used: a rule fully used as written, the used pieces
// of one partly used, the requests themselves for a wildcard rule.
func (t *tightened) cut(ref drift.ObjectRef, rules, reqs []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := []rbacv1.PolicyRule{}
	for _, rule := range rules {
		var covered []rbacv1.PolicyRule
		for _, req := range reqs {
			if drift.CoversRequest(rule, req) {
				covered = append(covered, req)
			}
		}
		if wildcard(rule) {
			if len(covered) > 0 {
				out = append(out, drift.CompactRules(covered)...)
			}
			t.removed[ref] = append(t.removed[ref], rule) // as written; what replaces it is in the role
			continue
		}
		var keep, drop []rbacv1.PolicyRule
		for _, piece := range validation.BreakdownRule(rule) {
			if slices.ContainsFunc(covered, func(req rbacv1.PolicyRule) bool { return drift.CoversRequest(piece, req) }) {
				keep = append(keep, piece)
			} else {
				drop = append(drop, piece)
			}
		}
		switch {
		case len(drop) == 0:
			out = append(out, rule)
		case len(keep) > 0:
			out = append(out, drift.CompactRules(keep)...)
			fallthrough
		default:
			t.removed[ref] = append(t.removed[ref], drop...)
		}
	}
	return out
}

func wildcard(r rbacv1.PolicyRule) bool {
	return slices.Contains(r.Verbs, "*") || slices.Contains(r.APIGroups, "*") || slices.Contains(r.Resources, "*")
}

// header says what the log showed and what was cut, as YAML comments.
func (t *tightened) header(events int, since string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# RoleBaselines suggested by kubectl guardrails suggest at %s from %d audit events (the last %s):\n", now().UTC().Format(time.RFC3339), events, since)
	subjects := slices.SortedFunc(maps.Keys(t.used), func(a, b rbacv1.Subject) int {
		return strings.Compare(a.Kind+"/"+a.Namespace+"/"+a.Name, b.Kind+"/"+b.Namespace+"/"+b.Name)
	})
	for _, s := range subjects {
		if len(t.used[s]) == 0 {
			continue
		}
		used := drift.CompactRules(t.used[s])
		fmt.Fprintf(&b, "#   %s used %s\n", guardrails.DescribeSubject(s), rulesText(used, 6))
	}
	roles := slices.SortedFunc(maps.Keys(t.removed), func(a, b drift.ObjectRef) int { return strings.Compare(a.String(), b.String()) })
	for _, r := range roles {
		fmt.Fprintf(&b, "#   %s loses what nobody used: %s\n", r, rulesText(drift.CompactRules(t.removed[r]), 6))
	}
	for _, k := range t.kept {
		fmt.Fprintf(&b, "#   %s is left as it is\n", k)
	}
	return b.String()
}

// rulesText names up to max rules, kubectl-style.
func rulesText(rules []rbacv1.PolicyRule, limit int) string {
	var parts []string
	for i, r := range rules {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(rules)-limit))
			break
		}
		if len(r.NonResourceURLs) > 0 {
			parts = append(parts, strings.Join(r.Verbs, ",")+" "+strings.Join(r.NonResourceURLs, ","))
			continue
		}
		s := strings.Join(r.Verbs, ",") + " " + strings.Join(r.Resources, ",")
		if g := strings.Join(r.APIGroups, ","); g != "" {
			s += "." + g
		}
		if len(r.ResourceNames) > 0 {
			s += " (" + strings.Join(r.ResourceNames, ",") + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}
