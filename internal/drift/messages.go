package drift

import (
	"strconv"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// NewFinding returns a finding of type t about ref with a fixed message.
func NewFinding(t v1alpha1.FindingType, ref ObjectRef, msg string) Finding {
	return Finding{Type: t, Object: ref, Severity: typeSeverity[t], text: msg}
}

// Message says what departs from the baseline, in one sentence naming the object.
func (f *Finding) Message() string {
	if f.text != "" {
		return f.text
	}
	switch f.Type {
	case v1alpha1.FindingUnexpected:
		return f.Object.String() + " is in scope but not declared by the baseline"
	case v1alpha1.FindingExceedsCeiling:
		return f.ceilingText()
	case v1alpha1.FindingUnusedPermission:
		return f.unusedText()
	}
	return ""
}

func (f *Finding) describedRules() string {
	if f.rulesText != nil {
		return *f.rulesText
	}
	return describeRules(f.Rules)
}

func (f *Finding) grantedThrough() string {
	if f.roleRef == nil {
		return ""
	}
	return " through " + f.roleRef.Kind + " " + f.roleRef.Name
}

func (f *Finding) ceilingText() string {
	where := "cluster-wide"
	if f.Object.Kind == KindRoleBinding {
		where = "in namespace " + f.Object.Namespace
	}
	through := ""
	if f.via != nil {
		through = " (as member of " + describeSubject(*f.via) + ")"
	}
	who := ""
	if f.Subject != nil {
		who = describeSubject(*f.Subject)
	}
	return who + through + " is granted beyond its ceiling by " + f.Object.String() + f.grantedThrough() + ", " + where + ": " +
		f.describedRules()
}

func (f *Finding) unusedText() string {
	who := ""
	if f.Subject != nil {
		who = describeSubject(*f.Subject)
	}
	return who + " did not use " + strconv.Itoa(int(f.unused)) + " of the " + strconv.Itoa(int(f.granted)) + " permissions " +
		f.Object.String() + " grants" + f.grantedThrough() + " during the usage window: " + f.describedRules()
}
