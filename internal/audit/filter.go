package audit

import (
	"encoding/json"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// Annotations the API server's authorizer puts on audit events.
const (
	annotationDecision = "authorization.k8s.io/decision"
	annotationReason   = "authorization.k8s.io/reason"
	decisionAllow      = "allow"
)

// Write is one RBAC write, as attribution keeps it.
type Write struct {
	Object drift.ObjectRef
	// User is who acted: the impersonated user when impersonation was used.
	User   string
	Groups []string
	// Impersonator is the authenticated user who impersonated User, if any.
	Impersonator string
	Verb         string
	Time         time.Time
	AuditID      string
	UserAgent    string
	SourceIPs    []string
	// ResourceVersion of the object the write left, when the event carries the
	// response body (RequestResponse level); it ties a write to a live object exactly.
	ResourceVersion string
}

// Access is one kind of allowed request, keyed by the binding that allowed it. It is
// comparable: the usage aggregator counts accesses in a map keyed by it.
type Access struct {
	Grant          Grant
	Verb           string
	APIGroup       string
	Resource       string
	Subresource    string
	Namespace      string
	Name           string
	NonResourceURL string
}

// rbacKinds maps RBAC resources to kinds.
var rbacKinds = map[string]string{
	"roles":               drift.KindRole,
	"clusterroles":        drift.KindClusterRole,
	"rolebindings":        drift.KindRoleBinding,
	"clusterrolebindings": drift.KindClusterRoleBinding,
}

// Outcome of filtering one event.
type Outcome int

const (
	// Irrelevant events are neither RBAC writes nor RBAC-allowed requests.
	Irrelevant Outcome = iota
	// Kept events yielded a write, an access or both.
	Kept
	// BadReason events were allowed by RBAC with a reason that does not parse.
	BadReason
)

// Filter extracts what the operator needs from one audit event: the RBAC write it
// made (attribution) and the access it used (usage). Cheap checks come first, so the
// common event (a read, a non-RBAC write, a health check) costs a few comparisons.
func Filter(ev *auditv1.Event) (w *Write, a *Access, out Outcome) {
	if ev.Stage != auditv1.StageResponseComplete && ev.Stage != auditv1.StageResponseStarted {
		return nil, nil, Irrelevant
	}
	w = rbacWrite(ev)
	reason, allowed := ev.Annotations[annotationReason], ev.Annotations[annotationDecision] == decisionAllow
	if allowed && strings.HasPrefix(reason, reasonPrefix) {
		g, err := ParseReason(reason)
		if err != nil {
			return w, nil, BadReason
		}
		a = access(ev, g)
	}
	if w == nil && a == nil {
		return nil, nil, Irrelevant
	}
	return w, a, Kept
}

// rbacWrite returns the successful RBAC write an event records, or nil.
func rbacWrite(ev *auditv1.Event) *Write {
	ref := ev.ObjectRef
	if ref == nil || ref.APIGroup != rbacv1.GroupName || ref.Subresource != "" || ref.Name == "" ||
		ev.Stage != auditv1.StageResponseComplete {
		return nil
	}
	switch ev.Verb {
	case "create", "update", "patch", "delete":
	default:
		return nil
	}
	kind, ok := rbacKinds[ref.Resource]
	if !ok || (ev.ResponseStatus != nil && (ev.ResponseStatus.Code < 200 || ev.ResponseStatus.Code > 299)) {
		return nil
	}
	w := &Write{
		Object:    drift.ObjectRef{Kind: kind, Namespace: ref.Namespace, Name: ref.Name},
		User:      ev.User.Username,
		Groups:    ev.User.Groups,
		Verb:      ev.Verb,
		Time:      ev.StageTimestamp.Time,
		AuditID:   string(ev.AuditID),
		UserAgent: ev.UserAgent,
		SourceIPs: ev.SourceIPs,
	}
	if kind == drift.KindClusterRole || kind == drift.KindClusterRoleBinding {
		w.Object.Namespace = ""
	}
	if iu := ev.ImpersonatedUser; iu != nil {
		w.Impersonator, w.User, w.Groups = ev.User.Username, iu.Username, iu.Groups
	}
	if ev.ResponseObject != nil && ev.Verb != "delete" {
		var meta struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if json.Unmarshal(ev.ResponseObject.Raw, &meta) == nil {
			w.ResourceVersion = meta.Metadata.ResourceVersion
		}
	}
	return w
}

// access describes the request an event records as the RBAC authorizer saw it.
func access(ev *auditv1.Event, g Grant) *Access {
	a := &Access{Grant: g, Verb: ev.Verb}
	ref := ev.ObjectRef
	if ref == nil {
		// A non-resource request: the verb is the lowercased HTTP method and the URL
		// is the path, without query.
		a.NonResourceURL, _, _ = strings.Cut(ev.RequestURI, "?")
		return a
	}
	a.APIGroup, a.Resource, a.Subresource, a.Namespace = ref.APIGroup, ref.Resource, ref.Subresource, ref.Namespace
	// The authorizer sees no name on create (the audit layer fills it in from the
	// body afterwards), so a rule restricted by resourceNames never allows a create.
	if ev.Verb != "create" || ref.Subresource != "" {
		a.Name = ref.Name
	}
	return a
}
