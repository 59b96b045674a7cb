package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// result is one finding as check prints it.
type result struct {
	Baseline  string                   `json:"baseline"`
	Type      v1alpha1.FindingType     `json:"type"`
	Severity  v1alpha1.Severity        `json:"severity"`
	Guardrail v1alpha1.GuardrailID     `json:"guardrail,omitempty"`
	Object    v1alpha1.ObjectReference `json:"object"`
	Subject   *v1alpha1.Subject        `json:"subject,omitempty"`
	Message   string                   `json:"message"`
	File      string                   `json:"file,omitempty"`
	Line      int                      `json:"line,omitempty"`
}

// resultOf places a finding: at its object's file and line when the input holds it,
// else (a Missing object) at the baseline's declaration of it, else at the baseline.
func (in *inputs) resultOf(rb *v1alpha1.RoleBaseline, f *drift.Finding) result {
	api := f.ToAPI()
	r := result{Baseline: rb.Name, Type: f.Type, Severity: f.Severity, Guardrail: f.Guardrail, Object: api.Object,
		Subject: api.Subject, Message: f.Message()}
	if o := in.at[f.Object]; o != nil {
		r.File, r.Line = o.Source, o.Line
		return r
	}
	b := in.baseAt[rb.Name]
	if b == nil {
		return r
	}
	r.File, r.Line = b.Source, b.Line
	for i, d := range rb.Spec.Roles {
		if string(d.Kind) == f.Object.Kind && d.Name == f.Object.Name {
			r.Line = b.FieldLine(fmt.Sprintf("spec.roles[%d]", i))
			return r
		}
	}
	for i, d := range rb.Spec.Bindings {
		if string(d.Kind) == f.Object.Kind && d.Name == f.Object.Name {
			r.Line = b.FieldLine(fmt.Sprintf("spec.bindings[%d]", i))
			return r
		}
	}
	return r
}

func (r *result) where() string {
	if r.File == "" {
		return "cluster"
	}
	return fmt.Sprintf("%s:%d", r.File, r.Line)
}

// report is the json and yaml output.
type report struct {
	Findings []result      `json:"findings"`
	Summary  reportSummary `json:"summary"`
}

type reportSummary struct {
	Drifts     int `json:"drifts"`
	Violations int `json:"violations"`
	Advisory   int `json:"advisory"`
}

func summarize(rs []result) reportSummary {
	var s reportSummary
	for _, r := range rs {
		switch {
		case r.Type.IsDrift():
			s.Drifts++
		case r.Type.IsViolation():
			s.Violations++
		default:
			s.Advisory++
		}
	}
	return s
}

func writeResults(w io.Writer, format string, rs []result) error {
	if rs == nil {
		rs = []result{}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(report{Findings: rs, Summary: summarize(rs)})
	case "yaml":
		data, err := yaml.Marshal(report{Findings: rs, Summary: summarize(rs)})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	case "sarif":
		return writeSARIF(w, rs)
	}
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "No findings.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "BASELINE\tSEVERITY\tTYPE\tOBJECT\tWHERE\tMESSAGE")
	for _, r := range rs {
		kind := string(r.Type)
		if r.Guardrail != "" {
			kind += "/" + string(r.Guardrail)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Baseline, r.Severity, kind, objectText(r.Object), r.where(), r.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := summarize(rs)
	_, err := fmt.Fprintf(w, "\n%d drift, %d violations, %d advisory\n", s.Drifts, s.Violations, s.Advisory)
	return err
}

func objectText(o v1alpha1.ObjectReference) string {
	if o.Namespace != "" {
		return o.Kind + "/" + o.Namespace + "/" + o.Name
	}
	return o.Kind + "/" + o.Name
}

// ruleID is a result's SARIF rule: its guardrail, or its finding type.
func (r *result) ruleID() string {
	if r.Guardrail != "" {
		return string(r.Guardrail)
	}
	return string(r.Type)
}
