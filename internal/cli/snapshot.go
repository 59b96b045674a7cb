package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/snapshot"
)

// now is the clock snapshot headers read; tests fix it.
var now = time.Now

type snapshotOptions struct {
	files         []string
	allNamespaces bool
	includeSystem bool
	name          string
	mode          string
	output        string
}

func newSnapshot(env *env) *cobra.Command {
	o := &snapshotOptions{}
	cmd := &cobra.Command{
		Use:   "snapshot [-n NAMESPACE | -A] [-f DUMP]",
		Short: "Write RoleBaselines that declare exactly the RBAC that exists",
		Long: `snapshot declares the RBAC of the cluster (or of -f, e.g. the output of
kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml) as
RoleBaselines in Audit mode: checked against the same objects they report no drift.

Like kubectl, it reads the current namespace unless -n names another or -A asks for
every namespace and the cluster-scoped objects. The API server's bootstrap policy and
system: objects stay out unless --include-system. Where one baseline cannot hold the
declarations (1,024 roles, 2,048 bindings, 1 MiB) they are split across several.`,
		Example: `  kubectl guardrails snapshot -A > baselines.yaml
  kubectl guardrails snapshot -n team-a --name team-a
  kubectl get roles,rolebindings -n ci -o yaml | kubectl guardrails snapshot -f - -n ci`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, env) },
	}
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "read the objects from files, directories or - (stdin) instead of the cluster")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "every namespace, and the cluster-scoped objects")
	cmd.Flags().BoolVar(&o.includeSystem, "include-system", false, "declare the bootstrap policy and system: objects too")
	cmd.Flags().StringVar(&o.name, "name", "snapshot", "prefix of the baselines' names")
	cmd.Flags().StringVar(&o.mode, "mode", string(v1alpha1.ModeAudit), "mode of the baselines: Audit or Enforce")
	cmd.Flags().StringVarP(&o.output, "output", "o", "yaml", "output format: yaml or json (a List)")
	return cmd
}

func (o *snapshotOptions) run(cmd *cobra.Command, env *env) error {
	ctx := cmd.Context()
	if o.output != "yaml" && o.output != "json" {
		return fmt.Errorf("--output %q: use yaml or json", o.output)
	}
	if o.mode != string(v1alpha1.ModeAudit) && o.mode != string(v1alpha1.ModeEnforce) {
		return fmt.Errorf("--mode %q: use Audit or Enforce", o.mode)
	}
	namespace, explicit, err := env.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil && len(o.files) == 0 {
		return err
	}
	if *env.flags.Namespace != "" {
		namespace, explicit = *env.flags.Namespace, true
	}
	if o.allNamespaces && explicit {
		return fmt.Errorf("-n and -A: give one")
	}
	var namespaces []string
	if !o.allNamespaces {
		if namespace == "" {
			namespace = "default"
		}
		namespaces = []string{namespace}
	}
	var snap *drift.Snapshot
	from := ""
	if len(o.files) > 0 {
		in, err := readInputs(ctx, o.files, env.streams.In, env.namespace())
		if err != nil {
			return err
		}
		if len(in.baselines) > 0 {
			return fmt.Errorf("the input holds RoleBaselines (%s, ...): snapshot reads RBAC objects only", in.baselines[0].Name)
		}
		snap, from = only(&in.snap, namespaces), strings.Join(o.files, ", ")
	} else {
		l, err := connect(env)
		if err != nil {
			return err
		}
		if snap, err = l.snapshot(ctx, namespaces); err != nil {
			return err
		}
		from = "the cluster of context " + contextName(env)
	}
	baselines, err := snapshot.Baselines(snap, snapshot.Options{Name: o.name, IncludeSystem: o.includeSystem, Mode: v1alpha1.Mode(o.mode)})
	if err != nil {
		return err
	}
	return writeBaselines(env.streams.Out, o.output, baselines, header(snap, baselines, from, namespaces, o.includeSystem))
}

// only keeps the Roles and RoleBindings of namespaces, or everything when nil.
func only(s *drift.Snapshot, namespaces []string) *drift.Snapshot {
	if namespaces == nil {
		return s
	}
	out := &drift.Snapshot{Namespaces: s.Namespaces}
	for _, r := range s.Roles {
		if slices.Contains(namespaces, r.Namespace) {
			out.Roles = append(out.Roles, r)
		}
	}
	for _, b := range s.RoleBindings {
		if slices.Contains(namespaces, b.Namespace) {
			out.RoleBindings = append(out.RoleBindings, b)
		}
	}
	return out
}

func contextName(env *env) string {
	if c := *env.flags.Context; c != "" {
		return c
	}
	raw, err := env.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil || raw.CurrentContext == "" {
		return "(current)"
	}
	return raw.CurrentContext
}

// header says what was captured, from where and when, as YAML comments.
func header(s *drift.Snapshot, baselines []v1alpha1.RoleBaseline, from string, namespaces []string, system bool) string {
	var roles, bindings int
	for _, rb := range baselines {
		roles += len(rb.Spec.Roles)
		bindings += len(rb.Spec.Bindings)
	}
	where := "every namespace and the cluster-scoped objects"
	if namespaces != nil {
		where = "namespace " + strings.Join(namespaces, ", ")
	}
	left := "the bootstrap policy and system: objects are left out (--include-system keeps them)"
	if system {
		left = "the bootstrap policy and system: objects are included"
	}
	return fmt.Sprintf("# RoleBaselines written by kubectl guardrails snapshot at %s\n"+
		"# from %s, %s: %d ClusterRoles, %d ClusterRoleBindings, %d Roles, %d RoleBindings read;\n"+
		"# %s. %d baselines declare %d roles and %d bindings.\n",
		now().UTC().Format(time.RFC3339), from, where, len(s.ClusterRoles), len(s.ClusterRoleBindings), len(s.Roles), len(s.RoleBindings),
		left, len(baselines), roles, bindings)
}

// writeBaselines writes baselines as YAML documents after header, or as a JSON List,
// without the fields the server sets.
func writeBaselines(w io.Writer, format string, baselines []v1alpha1.RoleBaseline, header string) error {
	items := make([]any, 0, len(baselines))
	for i := range baselines {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&baselines[i])
		if err != nil {
			return err
		}
		delete(u, "status")
		if md, ok := u["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		if spec, ok := u["spec"].(map[string]any); ok {
			for k, v := range spec {
				if m, ok := v.(map[string]any); ok && len(m) == 0 {
					delete(spec, k) // enforcement: {}, guardrails: {}: the defaults
				}
			}
		}
		items = append(items, u)
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	for _, it := range items {
		data, err := yaml.Marshal(it)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", data); err != nil {
			return err
		}
	}
	return nil
}
