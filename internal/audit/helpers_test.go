package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
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

// logLines collects what the follower logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: 1})
}

func (l *logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(line string) bool { return strings.Contains(line, s) })
}

// appendEvents appends an update of Role n/r per audit ID to the file name.
func appendEvents(t *testing.T, name string, ids ...string) {
	t.Helper()
	evs := make([]auditv1.Event, len(ids))
	for i, id := range ids {
		evs[i] = event(id, "alice", "update", rbacGroup, "roles", "n", "r", t0)
	}
	appendLines(t, name, evs...)
}

func appendLines(t *testing.T, name string, evs ...auditv1.Event) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for i := range evs {
		b, _ := json.Marshal(&evs[i])
		if _, err := f.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%02d", prefix, i))
	}
	return out
}
