package revert

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClassifyWriter(t *testing.T) {
	controllers := []string{"argocd-controller", "rbac-manager"}
	tests := map[string]struct {
		manager, user string
		want          WriterKind
	}{
		"kubectl edit, no audit":                  {"kubectl-edit", "", WriterPerson},
		"kubectl apply by a ServiceAccount token": {"kubectl-client-side-apply", "system:serviceaccount:ci:deployer", WriterPerson},
		"listed controller, no audit":             {"argocd-controller", "", WriterController},
		"listed controller name, audited person":  {"argocd-controller", "alice", WriterPerson},
		"unlisted program, no audit":              {"fighter", "", WriterUnknown},
		"unlisted program as a ServiceAccount":    {"fighter", "system:serviceaccount:team:bot", WriterController},
		"controller-manager":                      {"kube-controller-manager", "system:kube-controller-manager", WriterController},
		"node":                                    {"kubelet", "system:node:worker-1", WriterController},
		"delete seen only in the audit log":       {"", "bob", WriterPerson},
		"delete with no audit":                    {"", "", WriterUnknown},
		"system:masters user is still a person":   {"", "system:admin", WriterPerson},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ClassifyWriter(tc.manager, tc.user, controllers); got.Kind != tc.want {
				t.Errorf("ClassifyWriter(%q, %q) = %s, want %s", tc.manager, tc.user, got.Kind, tc.want)
			}
		})
	}
}

func TestWriterString(t *testing.T) {
	tests := map[string]struct {
		w    Writer
		want string
	}{
		"both":    {Writer{Manager: "kubectl-edit", User: "alice"}, "user alice, field manager kubectl-edit"},
		"manager": {Writer{Manager: "argocd-controller"}, "field manager argocd-controller"},
		"none":    {Writer{}, "an unknown writer"},
	}
	for name, tc := range tests {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func entry(manager string, sec int) metav1.ManagedFieldsEntry {
	t := metav1.NewTime(time.Unix(int64(1_800_000_000+sec), 0))
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Time: &t,
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:rules":{}}`)}
}

func TestLastManagerAndTrim(t *testing.T) {
	tests := map[string]struct {
		entries []metav1.ManagedFieldsEntry
		want    string
	}{
		"none":                                      {nil, ""},
		"only the operator":                         {[]metav1.ManagedFieldsEntry{entry(FieldManager, 5)}, ""},
		"newest is not the operator":                {[]metav1.ManagedFieldsEntry{entry("kubectl-create", 1), entry(FieldManager, 5), entry("kubectl-edit", 7)}, "kubectl-edit"},
		"operator newest, skip to next":             {[]metav1.ManagedFieldsEntry{entry("kubectl-create", 1), entry("fighter", 3), entry(FieldManager, 9)}, "fighter"},
		"same second: later in the list":            {[]metav1.ManagedFieldsEntry{entry("a", 4), entry("b", 4), entry("c", 2)}, "b"},
		"an entry without time is never the writer": {[]metav1.ManagedFieldsEntry{{Manager: "x"}, entry("y", 1)}, "y"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := LastManager(tc.entries); got != tc.want {
				t.Errorf("LastManager = %q, want %q", got, tc.want)
			}
			trimmed := TrimManagedFields(tc.entries)
			if got := LastManager(trimmed); got != tc.want {
				t.Errorf("LastManager(TrimManagedFields) = %q, want %q", got, tc.want)
			}
			if len(trimmed) > 2 {
				t.Errorf("kept %d entries, want at most 2", len(trimmed))
			}
			for _, e := range trimmed {
				if e.FieldsV1 != nil {
					t.Errorf("kept the field set of %s", e.Manager)
				}
			}
		})
	}
}
