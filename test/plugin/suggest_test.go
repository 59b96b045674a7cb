package plugin_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/internal/cli"
)

// TestSuggestAndSimulate records real traffic in a real API server's audit log
// (config/audit/policy.yaml), asks suggest for tightened roles, and checks them on
// the same server: every recorded request still succeeds under them, and simulate
// agrees (0 denials), while a deliberately narrowed baseline is denied exactly the
// request it cut.
func TestSuggestAndSimulate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	k := start(t, func(args *envtest.Arguments) {
		args.Set("audit-policy-file", filepath.Join("..", "..", "config", "audit", "policy.yaml"))
		args.Set("audit-log-path", logPath)
	})
	env, cfg, c, run := k.env, k.cfg, k.c, k.run
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}))
	must(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "settings"}}))
	// The app's Role grants far more than it uses; so does the reader ClusterRole.
	must(c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "app"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "configmaps", "secrets"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "delete"}},
	}}))
	must(c.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "app"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "shop", Name: "app"}}}))
	must(c.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ops-reader"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
	}}))
	must(c.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ops"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "ops-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "ops"}}}))

	app, err := env.AddUser(envtest.User{Name: "system:serviceaccount:shop:app", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:shop"}}, cfg)
	must(err)
	bob, err := env.AddUser(envtest.User{Name: "bob", Groups: []string{"ops"}}, cfg)
	must(err)
	traffic := func() error {
		for _, u := range []*envtest.AuthenticatedUser{app, bob} {
			cs, err := kubernetes.NewForConfig(u.Config())
			if err != nil {
				return err
			}
			if u == app {
				if _, err := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{}); err != nil {
					return err
				}
				if _, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
					return err
				}
				continue
			}
			if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
				return err
			}
			if _, err := cs.AppsV1().Deployments("shop").List(ctx, metav1.ListOptions{}); err != nil {
				return err
			}
		}
		return nil
	}
	must(traffic())
	time.Sleep(time.Second) // the log backend writes each event as the request completes; a margin for the last

	suggested, errOut, code := run("", "suggest", "--audit-log", logPath)
	if code != cli.ExitClean {
		t.Fatalf("suggest: exit %d: %s", code, errOut)
	}
	t.Logf("suggestion:\n%s", suggested)
	for _, want := range []string{"ServiceAccount shop/app used", "Role shop/app loses what nobody used", "ClusterRole ops-reader loses what nobody used"} {
		if !strings.Contains(suggested, want) {
			t.Errorf("the header lacks %q", want)
		}
	}

	// Before the roles are tightened, the engine reports the app's unused grants.
	unused := func() string {
		t.Helper()
		out, errOut, code := run(suggested, "check", "--cluster", "-f", "-", "--audit-log", logPath, "--fail-on", "none", "-o", "json")
		if code != cli.ExitClean {
			t.Fatalf("check with the log: exit %d: %s", code, errOut)
		}
		return out
	}
	if out := unused(); !strings.Contains(out, `"UnusedPermission"`) || !strings.Contains(out, "secrets") {
		t.Fatalf("the wide roles show nothing unused:\n%s", out)
	}

	// Apply the suggested roles to the server, and replay the traffic: all of it passes.
	roles, errOut, code := run("", "suggest", "--audit-log", logPath, "-o", "roles")
	if code != cli.ExitClean {
		t.Fatalf("suggest -o roles: exit %d: %s", code, errOut)
	}
	applied := 0
	for _, doc := range strings.Split(roles, "\n---\n") {
		if !strings.Contains(doc, "kind:") {
			continue
		}
		var tm metav1.TypeMeta
		must(yaml.Unmarshal([]byte(doc), &tm))
		var obj client.Object = &rbacv1.ClusterRole{}
		if tm.Kind == "Role" {
			obj = &rbacv1.Role{}
		}
		must(yaml.Unmarshal([]byte(doc), obj))
		live := obj.DeepCopyObject().(client.Object)
		must(c.Get(ctx, client.ObjectKeyFromObject(obj), live))
		obj.SetResourceVersion(live.GetResourceVersion())
		must(c.Update(ctx, obj))
		applied++
	}
	if applied != 2 {
		t.Fatalf("applied %d tightened roles, want 2 (the app's Role, the ops ClusterRole):\n%s", applied, roles)
	}
	tightened := &rbacv1.Role{}
	must(c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "app"}, tightened))
	for _, r := range tightened.Rules {
		if strings.Contains(strings.Join(r.Resources, ","), "secrets") || strings.Contains(strings.Join(r.Resources, ","), "deployments") {
			t.Errorf("the app keeps what it never used: %v", tightened.Rules)
		}
	}
	if err := traffic(); err != nil {
		t.Fatalf("a recorded request fails under the suggested roles: %v", err)
	}
	// The engine finds nothing unused in them: what the app and ops hold, they used.
	if out := unused(); strings.Contains(out, `"UnusedPermission"`) {
		t.Fatalf("the suggested roles still grant what nobody used:\n%s", out)
	}

	// simulate: the suggestion denies nothing the log recorded; a baseline that also
	// cuts the app's configmap read denies exactly that.
	if out, errOut, code := run(suggested, "simulate", "--audit-log", logPath, "-f", "-", "--cluster"); code != cli.ExitClean {
		t.Fatalf("simulate of the suggestion: exit %d: %s\n%s", code, errOut, out)
	}
	narrowed := strings.Replace(suggested, "- configmaps\n", "- services\n", 1)
	if narrowed == suggested {
		t.Fatal("the suggestion holds no configmaps rule to narrow")
	}
	out, errOut, code := run(narrowed, "simulate", "--audit-log", logPath, "-f", "-", "--cluster")
	if code != cli.ExitFindings || !strings.Contains(out, "system:serviceaccount:shop:app") || !strings.Contains(out, "get configmaps") {
		t.Fatalf("simulate of a narrowed baseline: exit %d: %s\n%s", code, errOut, out)
	}
	if strings.Contains(out, "bob") {
		t.Errorf("denials for bob, whose roles were not narrowed:\n%s", out)
	}
}
