package audit

import (
	"encoding/json"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// event builds an audit event at ResponseComplete.
func event(id, user, verb, group, resource, ns, name string, at time.Time) auditv1.Event {
	ev := auditv1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "Event"},
		Level:    auditv1.LevelMetadata, AuditID: types.UID(id), Stage: auditv1.StageResponseComplete,
		Verb: verb, User: authnv1.UserInfo{Username: user, Groups: []string{"system:authenticated"}},
		SourceIPs: []string{"10.0.0.1"}, UserAgent: "kubectl/v1.37.2",
		ResponseStatus: &metav1.Status{Code: 200},
		StageTimestamp: metav1.NewMicroTime(at), RequestReceivedTimestamp: metav1.NewMicroTime(at),
	}
	if resource != "" {
		ev.ObjectRef = &auditv1.ObjectReference{APIGroup: group, Resource: resource, Namespace: ns, Name: name}
	}
	return ev
}

func allowedBy(ev auditv1.Event, reason string) auditv1.Event {
	ev.Annotations = map[string]string{annotationDecision: decisionAllow, annotationReason: reason}
	return ev
}

func withResponseRV(ev auditv1.Event, rv string) auditv1.Event {
	ev.Level = auditv1.LevelRequestResponse
	ev.ResponseObject = &runtime.Unknown{Raw: []byte(`{"kind":"Role","metadata":{"name":"x","resourceVersion":"` + rv + `"}}`)}
	return ev
}

func eventList(evs ...auditv1.Event) []byte {
	b, err := json.Marshal(auditv1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "EventList"}, Items: evs})
	if err != nil {
		panic(err)
	}
	return b
}

func timeMinutes(m int) time.Duration { return time.Duration(m) * time.Minute }
