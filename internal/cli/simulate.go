package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
	"github.com/rbac-guardrails/rbac-guardrails/internal/auditlog"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

type simulateOptions struct {
	logs    []string
	files   []string
	cluster bool
	output  string
}

func newSimulate(env *env) *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate --audit-log FILE|DIR -f BASELINE [-f RBAC | --cluster]",
		Short: "Replay the audit log against proposed baselines: what would have been denied",
		Long: `simulate enforces the baselines of -f on the RBAC (of -f, or of the cluster with
--cluster) as the operator's Enforce mode would (the same plan: creates, updates,
deletes), then replays every request of the audit log that the RBAC authorizer
allowed against the result, and lists those that would have been denied, grouped by
subject and request. With suggest this is "shadow, then enforce": tighten only what
the recorded traffic proves unused. It exits 1 when a request would be denied.`,
		Example: `  kubectl guardrails simulate --audit-log audit/ -f tightened.yaml --cluster`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.run(cmd, env) },
	}
	cmd.Flags().StringSliceVar(&o.logs, "audit-log", nil, "audit log files or directories (required)")
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "the proposed RoleBaselines, and RBAC objects unless --cluster")
	cmd.Flags().BoolVar(&o.cluster, "cluster", false, "enforce the baselines on the RBAC of the current context")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// denial is one kind of request that would have been denied, and how often.
type denial struct {
	Subject string              `json:"subject"`
	Request v1alpha1.PolicyRule `json:"request"`
	Count   int                 `json:"count"`
}

func (o *simulateOptions) run(cmd *cobra.Command, env *env) error {
	ctx := cmd.Context()
	if len(o.logs) == 0 {
		return fmt.Errorf("--audit-log is required: the API server's --audit-log-path file or its directory")
	}
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("--output %q: use table or json", o.output)
	}
	in, err := readInputs(ctx, o.files, env.streams.In, env.namespace())
	if err != nil {
		return err
	}
	if len(in.baselines) == 0 {
		return fmt.Errorf("no RoleBaseline to simulate: pass the proposed baselines with -f")
	}
	snap := &in.snap
	if o.cluster {
		l, err := connect(env)
		if err != nil {
			return err
		}
		if snap, err = l.snapshot(ctx, nil); err != nil {
			return err
		}
	}
	for i := range in.baselines {
		if snap, err = enforced(&in.baselines[i], snap); err != nil {
			return err
		}
	}
	denials, err := replay(env, newAuthorizer(snap), o.logs)
	if err != nil {
		return err
	}
	if err := writeDenials(env, o.output, denials); err != nil {
		return err
	}
	if len(denials) > 0 {
		return &findingsError{n: len(denials)}
	}
	return nil
}

// enforced is snap after rb's Enforce mode put it back: the findings planned into
// actions as the operator plans them, and applied.
func enforced(rb *v1alpha1.RoleBaseline, snap *drift.Snapshot) (*drift.Snapshot, error) {
	fs, err := drift.Evaluate(&rb.Spec, snap, nil)
	if err != nil {
		return nil, fmt.Errorf("RoleBaseline %s: %w", rb.Name, err)
	}
	objects := map[drift.ObjectRef]client.Object{}
	for _, o := range snap.RBAC() {
		ref, _ := drift.RefOf(o)
		objects[ref] = o.(client.Object)
	}
	actions, _ := revert.Plan(&rb.Spec, fs, func(ref drift.ObjectRef) client.Object { return objects[ref] })
	for _, a := range actions {
		switch a.Kind {
		case v1alpha1.RevertDelete:
			delete(objects, a.Ref)
		default:
			objects[a.Ref] = a.Desired
		}
	}
	out := &drift.Snapshot{Namespaces: snap.Namespaces}
	for _, ref := range slices.SortedFunc(maps.Keys(objects), func(a, b drift.ObjectRef) int { return strings.Compare(a.String(), b.String()) }) {
		out.Add(objects[ref])
	}
	return out, nil
}

// replay asks the authorizer about every request the log's RBAC authorizer allowed,
// as the user (impersonated, when it was) and the groups the event records.
func replay(env *env, az *authorizer, logs []string) ([]denial, error) {
	files, err := auditlog.Files(logs)
	if err != nil {
		return nil, err
	}
	type denied struct {
		subject string
		req     request
	}
	var mu sync.Mutex
	counts := map[denied]int{}
	known := map[string]bool{} // who and request already judged allowed
	_, err = auditlog.Read(files, func(ev *auditv1.Event) {
		_, a, _ := audit.Filter(ev)
		if a == nil {
			return // not allowed by RBAC: RBAC changes do not change it
		}
		user := ev.User
		if ev.ImpersonatedUser != nil {
			user = *ev.ImpersonatedUser
		}
		req := request{verb: a.Verb, group: a.APIGroup, resource: a.Resource, subresource: a.Subresource, name: a.Name,
			namespace: a.Namespace, url: a.NonResourceURL}
		memo := user.Username + "\x00" + strings.Join(user.Groups, ",") + "\x00" + fmt.Sprint(req)
		mu.Lock()
		ok := known[memo]
		mu.Unlock()
		if ok {
			return
		}
		who := append([]rbacv1.Subject{userSubject(user.Username)}, groupSubjects(user.Groups)...)
		allowed := len(az.grants(who, req, false)) > 0
		mu.Lock()
		defer mu.Unlock()
		if allowed {
			known[memo] = true
			return
		}
		counts[denied{user.Username, req}]++
	}, progress(env, "replaying the audit log"))
	if err != nil {
		return nil, err
	}
	out := make([]denial, 0, len(counts))
	for d, n := range counts {
		out = append(out, denial{Subject: d.subject, Request: drift.ToAPIRules(d.req.asRule())[0], Count: n})
	}
	slices.SortFunc(out, func(a, b denial) int {
		return cmp.Or(strings.Compare(a.Subject, b.Subject), cmp.Compare(b.Count, a.Count), strings.Compare(ruleText(a.Request), ruleText(b.Request)))
	})
	return out, nil
}

// userSubject is the subject a user name stands for: a ServiceAccount's name
// (system:serviceaccount:NS:NAME) is that ServiceAccount.
func userSubject(name string) rbacv1.Subject {
	if s, err := parseSubject(name); err == nil && s.Kind == v1alpha1.SubjectServiceAccount && strings.HasPrefix(name, "system:serviceaccount:") {
		return rbacSubject(s)
	}
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func writeDenials(env *env, format string, ds []denial) error {
	w := env.streams.Out
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"denied": ds})
	}
	if len(ds) == 0 {
		_, err := fmt.Fprintln(w, "Every request the log recorded would still be allowed.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tCOUNT\tREQUEST")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", d.Subject, d.Count, rulesText([]rbacv1.PolicyRule{d.Request.RBAC()}, 1))
	}
	return tw.Flush()
}
