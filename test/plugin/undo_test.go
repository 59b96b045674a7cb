// Package plugin_test runs kubectl guardrails against a real API server (envtest):
// the journal and undo of the operator's writes.
package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/cli"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
)

const journalNS = "rbac-guardrails-system"

// entry writes a journal entry as the operator does (internal/revert/journal.go):
// a ConfigMap labelled with the baseline's UID, the action and object annotated, and
// the prior or created object as JSON.
func entry(t *testing.T, ctx context.Context, c client.Client, rb *v1alpha1.RoleBaseline, name string, action v1alpha1.RevertAction, object, at string, data map[string]client.Object) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: journalNS,
		Labels: map[string]string{revert.JournalLabel: string(rb.UID)},
		Annotations: map[string]string{revert.AnnotationBaseline: rb.Name, revert.AnnotationAction: string(action),
			revert.AnnotationObject: object, revert.AnnotationTime: at, revert.AnnotationDriftedBy: "user mallory"}}, Data: map[string]string{}}
	for key, obj := range data {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		cm.Data[key] = string(raw)
	}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
}

func TestJournalAndUndo(t *testing.T) {
	ctx := context.Background()
	k := start(t, nil)
	c := k.c
	run := func(args ...string) (string, string, int) { return k.run("", args...) }
	for _, ns := range []string{journalNS, "team"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	readPods := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	readAll := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, Verbs: []string{"get"}}
	// The operator put the Role back to what the baseline declares; before, someone had
	// widened it to secrets, which the entry records.
	reverted := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "reader", Labels: map[string]string{"app": "x"}}, Rules: []rbacv1.PolicyRule{readPods}}
	if err := c.Create(ctx, reverted); err != nil {
		t.Fatal(err)
	}
	prior := &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "reader", Labels: map[string]string{"app": "x", "widened": "yes"}}, Rules: []rbacv1.PolicyRule{readAll}}
	// And it created a binding the baseline declares.
	created := &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "readers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "team"}}}
	if err := c.Create(ctx, created.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	rb := &v1alpha1.RoleBaseline{ObjectMeta: metav1.ObjectMeta{Name: "team"}, Spec: v1alpha1.RoleBaselineSpec{
		Mode: v1alpha1.ModeEnforce, Scope: v1alpha1.Scope{Namespaces: []string{"team"}}, Guardrails: v1alpha1.Guardrails{Set: v1alpha1.GuardrailSetNone},
		Roles: []v1alpha1.DesiredRole{{Kind: v1alpha1.KindRole, Name: "reader", Rules: []v1alpha1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}},
		Bindings: []v1alpha1.DesiredBinding{{Kind: v1alpha1.KindRoleBinding, Name: "readers", RoleRef: v1alpha1.RoleRef{Kind: v1alpha1.KindRole, Name: "reader"},
			Subjects: []v1alpha1.Subject{{Kind: v1alpha1.SubjectGroup, APIGroup: rbacv1.GroupName, Name: "team"}}}}}}
	if err := c.Create(ctx, rb); err != nil {
		t.Fatal(err)
	}
	entry(t, ctx, c, rb, "rbl-journal-team-update", v1alpha1.RevertUpdate, "Role team/reader", "2026-12-04T10:00:00.000000000Z", map[string]client.Object{revert.PriorKey: prior})
	entry(t, ctx, c, rb, "rbl-journal-team-create", v1alpha1.RevertCreate, "RoleBinding team/readers", "2026-12-04T11:00:00.000000000Z", map[string]client.Object{revert.CreatedKey: created})

	out, errOut, code := run("journal", "team")
	if code != cli.ExitClean {
		t.Fatalf("journal: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "Create") || !strings.Contains(lines[2], "Update") || !strings.Contains(lines[2], "Role team/reader") ||
		!strings.Contains(lines[0], "DRIFTED BY") || !strings.Contains(lines[2], "user mallory") {
		t.Fatalf("journal, newest first:\n%s", out)
	}

	// The Enforce baseline would put the Role back at once: refused.
	_, errOut, code = run("undo", "rbl-journal-team-update")
	if code != cli.ExitUsage || !strings.Contains(errOut, "RoleBaseline team is in Enforce mode and would revert the restore") {
		t.Fatalf("undo under Enforce: exit %d: %s", code, errOut)
	}
	got := &rbacv1.Role{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(reverted), got); err != nil || len(got.Rules[0].Resources) != 1 {
		t.Fatalf("a refused undo changed the Role: %v %v", got.Rules, err)
	}

	out, errOut, code = run("undo", "rbl-journal-team-update", "--pause-baseline")
	if code != cli.ExitClean || !strings.Contains(out, "RoleBaseline team switched to Audit") {
		t.Fatalf("undo --pause-baseline: exit %d: %s %s", code, out, errOut)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(reverted), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 1 || strings.Join(got.Rules[0].Resources, ",") != "pods,secrets" || got.Labels["widened"] != "yes" {
		t.Fatalf("the prior Role is not back exactly: %+v %v", got.Rules, got.Labels)
	}
	paused := &v1alpha1.RoleBaseline{}
	if err := c.Get(ctx, client.ObjectKey{Name: "team"}, paused); err != nil || paused.Spec.Mode != v1alpha1.ModeAudit {
		t.Fatalf("the baseline is not in Audit: %v %v", paused.Spec.Mode, err)
	}

	// Undoing a Create deletes what the operator created (Audit now: nothing refuses).
	if _, errOut, code := run("undo", "rbl-journal-team-create"); code != cli.ExitClean {
		t.Fatalf("undo of a Create: exit %d: %s", code, errOut)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(created), &rbacv1.RoleBinding{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the created binding is still there: %v", err)
	}
	if _, errOut, code := run("undo", "no-such-entry"); code != cli.ExitUsage || !strings.Contains(errOut, "journal entry no-such-entry") {
		t.Fatalf("an unknown entry: exit %d: %s", code, errOut)
	}
}

// TestApproveAndRevoke: approve records the decision under the caller's own name (as
// the API server knows them) and refuses a second decision; revoke sets revoked.
func TestApproveAndRevoke(t *testing.T) {
	ctx := context.Background()
	k := start(t, nil)
	g := &v1alpha1.AccessGrant{ObjectMeta: metav1.ObjectMeta{Name: "alice-inc-1"}, Spec: v1alpha1.AccessGrantSpec{
		Baseline: "team", Requester: "alice", Role: v1alpha1.RoleRef{Kind: v1alpha1.KindClusterRole, Name: "view"},
		Namespaces: []string{"team"}, Duration: metav1.Duration{Duration: time.Hour}, Reason: "INC-1"}}
	if err := k.c.Create(ctx, g); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := k.run("", "approve", g.Name, "--comment", "ok for the incident"); code != cli.ExitClean || !strings.Contains(out, "approved") {
		t.Fatalf("approve: exit %d: %s %s", code, out, errOut)
	}
	got := &v1alpha1.AccessGrant{}
	if err := k.c.Get(ctx, client.ObjectKeyFromObject(g), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Approval == nil || got.Spec.Approval.Decision != v1alpha1.GrantDecisionApproved || got.Spec.Approval.By == "" || got.Spec.Approval.Comment != "ok for the incident" {
		t.Fatalf("approval: %+v", got.Spec.Approval)
	}
	if _, errOut, code := k.run("", "deny", g.Name); code != cli.ExitUsage || !strings.Contains(errOut, "the decision is final") {
		t.Fatalf("a second decision: exit %d: %s", code, errOut)
	}
	if _, errOut, code := k.run("", "revoke", g.Name); code != cli.ExitClean {
		t.Fatalf("revoke: exit %d: %s", code, errOut)
	}
	if err := k.c.Get(ctx, client.ObjectKeyFromObject(g), got); err != nil || !got.Spec.Revoked {
		t.Fatalf("not revoked: %v %v", got.Spec.Revoked, err)
	}
}
