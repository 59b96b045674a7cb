package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

type checkOptions struct {
	logs    []string
	since   string
	files   []string
	cluster bool
	output  string
	failOn  []string
	version string
}

func newCheck(env *env) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check -f FILE|DIR|- [-f ...] [--cluster]",
		Short: "Report what the operator would report: drift, guardrails and ceilings",
		Long: `check evaluates RBAC against RoleBaselines with the operator's engine.

Offline (the default), the RoleBaselines and the RBAC objects come from -f: files,
directories and - for stdin, as YAML (several documents), JSON or a List; helm
template and kustomize build output work as they are. Each finding names the file
and line of its object. A namespace an object is in or a baseline's scope lists is
taken to exist. With --cluster the live RBAC of the current context is judged, against
the baselines of -f or, without any, the cluster's own.

Baselines are validated as the API server would (schema and CEL rules of the CRD).
Objects of other kinds are skipped and listed on stderr.`,
		Example: `  kubectl guardrails check -f baseline.yaml -f manifests/
  helm template my-chart | kubectl guardrails check -f baseline.yaml -f - -o sarif > results.sarif
  kubectl guardrails check --cluster --fail-on Critical`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, env) },
	}
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "files, directories or - (stdin) holding RoleBaselines and RBAC objects")
	cmd.Flags().BoolVar(&o.cluster, "cluster", false, "judge the live RBAC of the current context")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, json, yaml or sarif")
	cmd.Flags().StringSliceVar(&o.failOn, "fail-on", []string{"drift", string(v1alpha1.SeverityHigh)},
		"exit 1 when a finding matches: drift (any drift), a severity (ceilings and guardrails at or above it: Low, Medium, High, Critical), any (every finding), none")
	cmd.Flags().StringSliceVar(&o.logs, "audit-log", nil, "audit log files or directories: also report UnusedPermission, what bindings grant that nobody used")
	cmd.Flags().StringVar(&o.since, "since", "30d", "with --audit-log, the usage window before the newest event")
	cmd.Flags().StringVar(&o.version, "kubernetes-version", "", "judge for this API server version (e.g. 1.34) offline; default: the version the engine was built for")
	return cmd
}

func (o *checkOptions) run(cmd *cobra.Command, env *env) error {
	ctx := cmd.Context()
	fail, err := parseFailOn(o.failOn)
	if err != nil {
		return err
	}
	if !slices.Contains([]string{"table", "json", "yaml", "sarif"}, o.output) {
		return fmt.Errorf("--output %q: use table, json, yaml or sarif", o.output)
	}
	if len(o.files) == 0 && !o.cluster {
		return fmt.Errorf("nothing to check: pass baselines and RBAC with -f, or --cluster")
	}
	in, err := readInputs(ctx, o.files, env.streams.In, env.namespace())
	if err != nil {
		return err
	}
	if len(in.skipped) > 0 {
		fmt.Fprintln(env.streams.ErrOut, "skipped objects of kinds the engine does not judge:", skippedText(in.skipped))
	}
	snap, baselines := &in.snap, in.baselines
	if o.cluster {
		live, err := connect(env)
		if err != nil {
			return err
		}
		if snap, err = live.snapshot(ctx, nil); err != nil {
			return err
		}
		if len(baselines) == 0 {
			if baselines, err = live.baselines(ctx); err != nil {
				return err
			}
		}
		in.at = nil // the live objects are not in the files
	} else if err := setVersion(o.version); err != nil {
		return err
	}
	if len(baselines) == 0 {
		return fmt.Errorf("no RoleBaseline to check against: pass one with -f%s", map[bool]string{true: " (the cluster has none)", false: ", or use --cluster"}[o.cluster])
	}
	var usage drift.Usage
	if len(o.logs) > 0 {
		since, err := parseSince(o.since)
		if err != nil {
			return err
		}
		u, _, err := readUsage(env, o.logs, since)
		if err != nil {
			return err
		}
		if u != nil {
			usage = u
		}
	}
	var results []result
	for i := range baselines {
		rb := &baselines[i]
		fs, err := drift.Evaluate(&rb.Spec, snap, usage)
		if err != nil {
			return fmt.Errorf("RoleBaseline %s: %w", rb.Name, err)
		}
		for j := range fs {
			results = append(results, in.resultOf(rb, &fs[j]))
		}
	}
	if err := writeResults(env.streams.Out, o.output, results); err != nil {
		return err
	}
	if n := fail.count(results); n > 0 {
		return &findingsError{n: n}
	}
	return nil
}

// setVersion makes the engine judge for an API server version given as "1.34".
func setVersion(v string) error {
	if v == "" {
		return nil
	}
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &major, &minor); err != nil {
		return fmt.Errorf("--kubernetes-version %q: give major.minor, e.g. 1.34", v)
	}
	guardrails.SetServer(guardrails.NewServer(major, minor, nil))
	return nil
}

// failOn is what --fail-on counts.
type failOn struct {
	drift, any bool
	atLeast    int // severity rank that fails, by sevIndex; -1: none
}

func parseFailOn(vals []string) (failOn, error) {
	f := failOn{atLeast: -1}
	for _, v := range vals {
		switch {
		case v == "drift":
			f.drift = true
		case v == "any":
			f.any = true
		case v == "none":
		case sevIndex(v1alpha1.Severity(v)) >= 0:
			if i := sevIndex(v1alpha1.Severity(v)); f.atLeast < 0 || i < f.atLeast {
				f.atLeast = i
			}
		default:
			return f, fmt.Errorf("--fail-on %q: use drift, any, none or a severity (Low, Medium, High, Critical)", v)
		}
	}
	return f, nil
}

// sevIndex is a severity's place in v1alpha1.Severities (Low first), or -1.
func sevIndex(s v1alpha1.Severity) int { return slices.Index(v1alpha1.Severities, s) }

func (f failOn) count(rs []result) int {
	n := 0
	for _, r := range rs {
		switch {
		case f.any, f.drift && r.Type.IsDrift(),
			f.atLeast >= 0 && r.Type.IsViolation() && sevIndex(r.Severity) >= f.atLeast:
			n++
		}
	}
	return n
}
