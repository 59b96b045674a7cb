package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

type explainOptions struct {
	files  []string
	groups []string
	output string
}

func newExplain(env *env) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain SUBJECT VERB RESOURCE[.GROUP][/NAME] [-n NAMESPACE]",
		Short: "Say why a user, group or ServiceAccount can (or cannot) do something",
		Long: `explain lists each binding, role and rule that grants SUBJECT the request,
and the escalation paths by which it reaches more than its own grants.

SUBJECT is User:NAME, Group:NAME, ServiceAccount:NAMESPACE:NAME, or a user name as
the API server sees it (system:serviceaccount:NAMESPACE:NAME is a ServiceAccount).
RESOURCE is as kubectl auth can-i takes it (pods, deployments.apps, pods/exec is a
subresource with --subresource, secrets/NAME names one); a path starting with / is
a non-resource URL. A user's groups other than the implied ones (system:authenticated,
the ServiceAccount groups) are given with --group. RBAC comes from -f or the cluster.`,
		Example: `  kubectl guardrails explain User:alice get secrets -n team-a
  kubectl guardrails explain system:serviceaccount:ci:deployer create pods -n ci
  kubectl guardrails explain User:bob get /metrics -f rbac/`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, env, args) },
	}
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "read RBAC from files, directories or - (stdin) instead of the cluster")
	cmd.Flags().StringSliceVar(&o.groups, "group", nil, "a group the user is in (repeatable)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().String("subresource", "", "the subresource asked for, e.g. exec")
	return cmd
}

// grant is one binding, role and rule that allows a request.
type grant struct {
	Binding v1alpha1.ObjectReference `json:"binding"`
	Role    v1alpha1.ObjectReference `json:"role"`
	Rule    v1alpha1.PolicyRule      `json:"rule"`
	Via     *v1alpha1.Subject        `json:"via,omitempty"` // the group through which, when not the subject itself
}

type explanation struct {
	Subject v1alpha1.Subject `json:"subject"`
	Request string           `json:"request"`
	Allowed bool             `json:"allowed"`
	Grants  []grant          `json:"grants"`
	Paths   []string         `json:"escalationPaths"`
}

func (o *explainOptions) run(cmd *cobra.Command, env *env, args []string) error {
	ctx := cmd.Context()
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: use text or json", o.output)
	}
	subject, err := parseSubject(args[0])
	if err != nil {
		return err
	}
	sub, _ := cmd.Flags().GetString("subresource")
	req, err := parseRequest(args[1], args[2], sub)
	if err != nil {
		return err
	}
	if req.url == "" {
		req.namespace = *env.flags.Namespace
		if guardrails.ClusterScoped(req.group, req.resource) {
			req.namespace = "" // the request has none, whatever -n says
		}
	}
	snap, err := liveOrFiles(ctx, env, o.files)
	if err != nil {
		return err
	}
	ex := explain(snap, subject, o.groups, req)
	if o.output == "json" {
		enc := json.NewEncoder(env.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(ex)
	}
	return ex.write(env.streams.Out)
}

// request is what is asked, as the authorizer sees it.
type request struct {
	verb, group, resource, subresource, name, namespace, url string
}

func (r request) String() string {
	if r.url != "" {
		return r.verb + " " + r.url
	}
	s := r.verb + " " + r.resource
	if r.subresource != "" {
		s += "/" + r.subresource
	}
	if r.group != "" {
		s += "." + r.group
	}
	if r.name != "" {
		s += " " + r.name
	}
	if r.namespace != "" {
		return s + " in namespace " + r.namespace
	}
	return s + " cluster-wide"
}

// asRule is the request as the one rule that would allow exactly it.
func (r request) asRule() rbacv1.PolicyRule {
	if r.url != "" {
		return rbacv1.PolicyRule{Verbs: []string{r.verb}, NonResourceURLs: []string{r.url}}
	}
	res := r.resource
	if r.subresource != "" {
		res += "/" + r.subresource
	}
	rule := rbacv1.PolicyRule{Verbs: []string{r.verb}, APIGroups: []string{r.group}, Resources: []string{res}}
	if r.name != "" {
		rule.ResourceNames = []string{r.name}
	}
	return rule
}

func parseRequest(verb, resource, subresource string) (request, error) {
	r := request{verb: verb, subresource: subresource}
	if strings.HasPrefix(resource, "/") {
		r.url = resource
		return r, nil
	}
	resource, r.name, _ = strings.Cut(resource, "/")
	r.resource, r.group, _ = strings.Cut(resource, ".")
	if r.resource == "" || r.verb == "" {
		return r, fmt.Errorf("RESOURCE %q: give TYPE[.GROUP][/NAME], e.g. deployments.apps or secrets/db-password", resource)
	}
	return r, nil
}

// parseSubject reads User:NAME, Group:NAME, ServiceAccount:NS:NAME or a user name.
func parseSubject(s string) (v1alpha1.Subject, error) {
	kind, rest, found := strings.Cut(s, ":")
	switch {
	case found && strings.EqualFold(kind, "User"):
		return v1alpha1.Subject{Kind: v1alpha1.SubjectUser, APIGroup: rbacv1.GroupName, Name: rest}, nil
	case found && strings.EqualFold(kind, "Group"):
		return v1alpha1.Subject{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: rest}, nil
	case found && strings.EqualFold(kind, "ServiceAccount"):
		ns, name, ok := strings.Cut(rest, ":")
		if !ok || ns == "" || name == "" {
			return v1alpha1.Subject{}, fmt.Errorf("SUBJECT %q: a ServiceAccount is ServiceAccount:NAMESPACE:NAME", s)
		}
		return v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, Namespace: ns, Name: name}, nil
	case strings.HasPrefix(s, "system:serviceaccount:"):
		parts := strings.Split(s, ":")
		if len(parts) == 4 && parts[2] != "" && parts[3] != "" {
			return v1alpha1.Subject{Kind: v1alpha1.SubjectServiceAccount, Namespace: parts[2], Name: parts[3]}, nil
		}
	case s != "":
		return v1alpha1.Subject{Kind: v1alpha1.SubjectUser, APIGroup: rbacv1.GroupName, Name: s}, nil
	}
	return v1alpha1.Subject{}, fmt.Errorf("SUBJECT %q: give User:NAME, Group:NAME, ServiceAccount:NAMESPACE:NAME or a user name", s)
}

// explain finds the grants of req to subject (and its groups) in snap, and the
// escalation paths the engine reports for the subject.
func explain(snap *drift.Snapshot, subject v1alpha1.Subject, groups []string, req request) explanation {
	ex := explanation{Subject: subject, Request: req.String(), Grants: []grant{}, Paths: []string{}}
	self := rbacSubject(subject)
	who := append(append([]rbacv1.Subject{self}, drift.ImpliedGroups(self)...), groupSubjects(groups)...)
	if gs := newAuthorizer(snap).grants(who, req, true); gs != nil {
		ex.Grants = gs
	}
	ex.Allowed = len(ex.Grants) > 0
	ex.Paths = escalationPaths(snap, who)
	return ex
}

// escalationPaths are the engine's escalation-path messages for the subject and its
// groups (who), judged over the whole cluster with every guardrail.
func escalationPaths(snap *drift.Snapshot, who []rbacv1.Subject) []string {
	spec := &v1alpha1.RoleBaselineSpec{Scope: v1alpha1.Scope{ClusterScoped: true, NamespaceSelector: &metav1.LabelSelector{},
		Exclude: v1alpha1.Exclusions{IncludeSystem: true}}}
	fs, err := drift.Evaluate(spec, snap, nil)
	out := []string{}
	if err != nil {
		return out
	}
	for i := range fs {
		f := &fs[i]
		if f.Guardrail != v1alpha1.GuardrailEscalationPath || f.Subject == nil {
			continue
		}
		for _, w := range who {
			if drift.SameSubject(*f.Subject, w) {
				out = append(out, f.Message())
			}
		}
	}
	return out
}

func groupSubjects(names []string) []rbacv1.Subject {
	out := make([]rbacv1.Subject, len(names))
	for i, n := range names {
		out[i] = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	return out
}

func rbacSubject(s v1alpha1.Subject) rbacv1.Subject {
	return rbacv1.Subject{Kind: string(s.Kind), APIGroup: s.APIGroup, Namespace: s.Namespace, Name: s.Name}
}

func apiSubject(s rbacv1.Subject) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKind(s.Kind), APIGroup: s.APIGroup, Namespace: s.Namespace, Name: s.Name}
}

func (ex *explanation) write(w io.Writer) error {
	who := string(ex.Subject.Kind) + " " + ex.Subject.Name
	if ex.Subject.Kind == v1alpha1.SubjectServiceAccount {
		who = "ServiceAccount " + ex.Subject.Namespace + "/" + ex.Subject.Name
	}
	if !ex.Allowed {
		fmt.Fprintf(w, "%s cannot %s: no binding grants it.\n", who, ex.Request)
	} else {
		fmt.Fprintf(w, "%s can %s:\n", who, ex.Request)
		for _, g := range ex.Grants {
			through := ""
			if g.Via != nil {
				through = " (as member of " + string(g.Via.Kind) + " " + g.Via.Name + ")"
			}
			fmt.Fprintf(w, "  %s -> %s%s\n    rule: %s\n", objectRef(g.Binding), objectRef(g.Role), through, ruleText(g.Rule))
		}
	}
	if len(ex.Paths) == 0 {
		_, err := fmt.Fprintln(w, "No escalation path leads it beyond its own grants.")
		return err
	}
	fmt.Fprintln(w, "Escalation paths beyond its own grants:")
	for _, p := range ex.Paths {
		fmt.Fprintf(w, "  %s\n", p)
	}
	return nil
}

func objectRef(o v1alpha1.ObjectReference) string {
	if o.Namespace != "" {
		return o.Kind + " " + o.Namespace + "/" + o.Name
	}
	return o.Kind + " " + o.Name
}

func ruleText(r v1alpha1.PolicyRule) string {
	data, _ := json.Marshal(r)
	return string(data)
}
