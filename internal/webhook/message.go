package webhook

import (
	"fmt"
	"strings"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/registry"
	"github.com/rbac-guardrails/rbac-guardrails/internal/text"
)

// Bounds keep responses readable and far below any size limit, however much a change
// would drift: kubectl prints every warning on its own line.
const (
	maxDenyFindings = 5
	// maxDenyBaselines bounds the denial to a few baselines and a count of the rest: a
	// change many baselines refuse would otherwise answer with kilobytes of text.
	maxDenyBaselines = 3
	maxWarnings      = 10
	maxTextLen       = 300
)

// decision is what the RBAC handler answers: a denial message (empty to allow) and warnings.
type decision struct {
	deny     string
	warnings []string
}

// decide turns the verdicts of the baselines a change concerns into a decision:
// Enforce baselines deny, Audit baselines warn. Findings a baseline asks only to be
// reported (undeclared objects unless unmanaged is Remove) warn in either mode.
// exempt names who may still make the change, for the denial's advice.
func decide(verdicts []registry.Verdict, exempt []string) decision {
	var d decision
	var denials []string
	denying := 0 // Enforce baselines that refuse; only the first maxDenyBaselines are spelled out
	warn := func(v *registry.Verdict, f *drift.Finding) {
		if len(d.warnings) < maxWarnings {
			d.warnings = append(d.warnings, clip(fmt.Sprintf("RoleBaseline %s (%s): %s: %s", v.Baseline, v.Mode, findingLabel(f), f.Message())))
		}
	}
	var deny []*drift.Finding // one baseline's refusing findings; reused
	for i := range verdicts {
		v := &verdicts[i]
		deny = deny[:0]
		for j := range v.Findings {
			f := &v.Findings[j]
			if v.Mode == v1alpha1.ModeEnforce && v1alpha1.Refuses(v.Unmanaged, f.Type) {
				deny = append(deny, f)
			} else {
				warn(v, f)
			}
		}
		if len(deny) > 0 {
			if denying < maxDenyBaselines {
				denials = append(denials, denyText(v.Baseline, deny))
			}
			denying++
		}
	}
	if denying == 0 {
		return d
	}
	if denying > maxDenyBaselines {
		denials = append(denials, fmt.Sprintf("and %d more Enforce baseline(s)", denying-maxDenyBaselines))
	}
	how := "To proceed, change the baseline first (kubectl edit rolebaseline NAME), or switch it to Audit"
	if len(exempt) > 0 {
		how += ", or have a member of an exempt group (" + strings.Join(exempt, ", ") + ") make the change"
	}
	d.deny = strings.Join(denials, "; ") + ". " + how + "."
	return d
}

// denyText names the baseline, each finding's type and what it concerns, bounded.
func denyText(baseline string, findings []*drift.Finding) string {
	var parts []string
	for i, f := range findings {
		if i == maxDenyFindings {
			parts = append(parts, fmt.Sprintf("and %d more", len(findings)-i))
			break
		}
		parts = append(parts, clip(findingLabel(f)+": "+f.Message()))
	}
	return fmt.Sprintf("RoleBaseline %s (Enforce) forbids this change: %s", baseline, strings.Join(parts, "; "))
}

func findingLabel(f *drift.Finding) string {
	if f.Guardrail != "" {
		return string(f.Type) + " " + string(f.Guardrail)
	}
	return string(f.Type)
}

func clip(s string) string { return text.Truncate(s, maxTextLen) }
