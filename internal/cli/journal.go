package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

// defaultJournalNamespace is where `make deploy` and the chart run the operator.
const defaultJournalNamespace = "rbac-guardrails-system"

type journalOptions struct {
	namespace string
	output    string
}

func newJournal(env *env) *cobra.Command {
	o := &journalOptions{}
	cmd := &cobra.Command{
		Use:   "journal [BASELINE]",
		Short: "List the operator's journal: each write Enforce mode made, newest first",
		Long: `journal lists the entries the operator wrote before each revert: the time, the
baseline, the action (Create, Update, Delete, Recreate), the object, and the entry to
pass to undo.`,
		Example: `  kubectl guardrails journal team-payments
  kubectl guardrails journal -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, env, args) },
	}
	cmd.Flags().StringVar(&o.namespace, "journal-namespace", defaultJournalNamespace, "the namespace the operator keeps its journal in (its --journal-namespace)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// journalRow is one entry as journal prints it.
type journalRow struct {
	Entry    string                `json:"entry"`
	Time     string                `json:"time"`
	Baseline string                `json:"baseline"`
	Action   v1alpha1.RevertAction `json:"action"`
	Object   string                `json:"object"`
	// DriftedBy is who left the object as the entry records it, when the operator knew.
	DriftedBy string `json:"driftedBy,omitempty"`
}

func (o *journalOptions) run(cmd *cobra.Command, env *env, args []string) error {
	ctx := cmd.Context()
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("--output %q: use table or json", o.output)
	}
	l, err := connect(env)
	if err != nil {
		return err
	}
	opts := []client.ListOption{client.InNamespace(o.namespace), client.HasLabels{revert.JournalLabel}}
	if len(args) == 1 {
		rb := &v1alpha1.RoleBaseline{}
		if err := l.c.Get(ctx, client.ObjectKey{Name: args[0]}, rb); err != nil {
			return fmt.Errorf("RoleBaseline %s: %w", args[0], err)
		}
		opts = []client.ListOption{client.InNamespace(o.namespace), client.MatchingLabels{revert.JournalLabel: string(rb.UID)}}
	}
	var list corev1.ConfigMapList
	if err := l.c.List(ctx, &list, opts...); err != nil {
		return fmt.Errorf("listing the journal in namespace %s: %w", o.namespace, err)
	}
	rows := make([]journalRow, 0, len(list.Items))
	for _, cm := range list.Items {
		a := cm.Annotations
		rows = append(rows, journalRow{Entry: cm.Name, Time: a[revert.AnnotationTime], Baseline: a[revert.AnnotationBaseline],
			Action: v1alpha1.RevertAction(a[revert.AnnotationAction]), Object: a[revert.AnnotationObject], DriftedBy: a[revert.AnnotationDriftedBy]})
	}
	slices.SortFunc(rows, func(a, b journalRow) int { return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(a.Entry, b.Entry)) })
	if o.output == "json" {
		enc := json.NewEncoder(env.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(env.streams.Out, "No journal entries in namespace %s.\n", o.namespace)
		return err
	}
	tw := tabwriter.NewWriter(env.streams.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tBASELINE\tACTION\tOBJECT\tDRIFTED BY\tENTRY")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Time, r.Baseline, r.Action, r.Object, cmp.Or(r.DriftedBy, "-"), r.Entry)
	}
	return tw.Flush()
}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
