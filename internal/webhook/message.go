package webhook

import (
	"fmt"
	"strings"

	v1 "github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/controllers"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Bounds keep responses readable and far below any size limit, however much a change
// would drift: kubectl prints every warning on its own line.
const (
	maxDenyFindings = 5
	maxWarnings     = 10
	maxTextLen      = 300
)

// decision is what the RBAC handler answers: a denial message (empty to allow) and warnings.
type decision struct {
	deny     string
	warnings []string
}

// decide turns the verdicts of the baselines a change concerns into a decision:
// Enforce baselines deny, Audit baselines warn. exempt names who may still make the
// change, for the denial's advice.
func decide(verdicts []controllers.BaselineVerdict, exempt []string) decision {
	var d decision
	var denials []string
	for _, v := range verdicts {
		if v.Mode == v1.ModeEnforce {
			denials = append(denials, denyText(v))
			continue
		}
		for _, f := range v.Findings {
			if len(d.warnings) == maxWarnings {
				break
			}
			d.warnings = append(d.warnings, clip(fmt.Sprintf("RoleBaseline %s (Audit): %s: %s", v.Baseline, findingLabel(&f), f.Message)))
		}
	}
	if len(denials) == 0 {
		return d
	}
	how := "To proceed, change the baseline first (kubectl edit rolebaseline NAME), or switch it to Audit"
	if len(exempt) > 0 {
		how += ", or have a member of an exempt group (" + strings.Join(exempt, ", ") + ") make the change"
	}
	d.deny = strings.Join(denials, "; ") + ". " + how + "."
	return d
}

// denyText names the baseline, each finding's type and what it concerns, bounded.
func denyText(v controllers.BaselineVerdict) string {
	var parts []string
	for i := range v.Findings {
		if i == maxDenyFindings {
			parts = append(parts, fmt.Sprintf("and %d more", len(v.Findings)-i))
			break
		}
		f := &v.Findings[i]
		parts = append(parts, clip(findingLabel(f)+": "+f.Message))
	}
	return fmt.Sprintf("RoleBaseline %s (Enforce) forbids this change: %s", v.Baseline, strings.Join(parts, "; "))
}

func findingLabel(f *drift.Finding) string {
	if f.Guardrail != "" {
		return string(f.Type) + " " + string(f.Guardrail)
	}
	return string(f.Type)
}

func clip(s string) string {
	if len(s) <= maxTextLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxTextLen-3], "") + "..."
}
