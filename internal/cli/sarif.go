package cli

import (
	"io"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
	"github.com/rbac-guardrails/rbac-guardrails/internal/sarif"
)

// writeSARIF writes results as one SARIF run: a rule per guardrail or finding type
// that occurs, and a result per finding at its file and line. Results found on live
// objects have no file and carry no location.
func writeSARIF(w io.Writer, rs []result) error {
	run := sarif.Run{Tool: sarif.Tool{Driver: sarif.Driver{Name: "kubectl-guardrails",
		InformationURI: "https://github.com/rbac-guardrails/rbac-guardrails", Rules: []sarif.Rule{}}}, Results: []sarif.Result{}}
	index := map[string]int{}
	for _, r := range rs {
		id := r.ruleID()
		i, ok := index[id]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[id] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, ruleOf(&r))
		}
		res := sarif.Result{RuleID: id, RuleIndex: i, Level: sarif.Level(string(r.Severity)), Message: sarif.Message{Text: r.Message},
			// The baseline, object and type identify a finding across runs, whatever line it moves to.
			PartialFingerprints: map[string]string{"rbacGuardrails/v1": r.Baseline + "|" + string(r.Type) + "|" + objectText(r.Object) + "|" + string(r.Guardrail)},
			Properties:          map[string]any{"baseline": r.Baseline, "severity": string(r.Severity)}}
		if r.File != "" && r.File != "-" {
			res.Locations = []sarif.Location{{PhysicalLocation: sarif.PhysicalLocation{
				ArtifactLocation: sarif.ArtifactLocation{URI: r.File}, Region: &sarif.Region{StartLine: r.Line}}}}
		}
		run.Results = append(run.Results, res)
	}
	return sarif.Write(w, &sarif.Log{Schema: sarif.SchemaURI, Version: sarif.Version, Runs: []sarif.Run{run}})
}

func ruleOf(r *result) sarif.Rule {
	rule := sarif.Rule{ID: r.ruleID(), Name: r.ruleID(), ShortDescription: sarif.Message{Text: string(r.Type)},
		DefaultConfiguration: sarif.Configuration{Level: sarif.Level(string(r.Severity))},
		Properties:           map[string]any{"tags": []string{"security", "rbac"}, "security-severity": sarif.SecuritySeverity(string(r.Severity))}}
	if g, ok := guardrails.Lookup(r.Guardrail); ok {
		rule.ShortDescription.Text = g.Title
	}
	return rule
}
