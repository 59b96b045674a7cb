package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// liveOrFiles is the RBAC of files when given, else of the cluster.
func liveOrFiles(ctx context.Context, env *env, files []string) (*drift.Snapshot, error) {
	if len(files) > 0 {
		in, err := readInputs(ctx, files, env.streams.In, env.namespace())
		if err != nil {
			return nil, err
		}
		return &in.snap, nil
	}
	l, err := connect(env)
	if err != nil {
		return nil, err
	}
	return l.snapshot(ctx, nil)
}

// notes writes progress lines over each other on stderr when it is a terminal; nil
// (quiet) otherwise, as in CI.
func notes(env *env) func(string) {
	f, ok := env.streams.ErrOut.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(msg string) { fmt.Fprintf(f, "\r\033[K%s", msg) }
}

// progress reports bytes read, at most once a second, through notes.
func progress(env *env, what string) func(int64) {
	note := notes(env)
	if note == nil {
		return nil
	}
	var last time.Time
	return func(n int64) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		note(fmt.Sprintf("%s: %d MiB", what, n>>20))
	}
}

// writeRoles writes the tightened roles (those that changed) as YAML documents.
func writeRoles(w io.Writer, t *tightened, header string) error {
	emit := func(obj any) error {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "---\n%s", data)
		return err
	}
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	for i := range t.snap.ClusterRoles {
		r := t.snap.ClusterRoles[i]
		if _, cut := t.removed[drift.ObjectRef{Kind: drift.KindClusterRole, Name: r.Name}]; cut {
			if err := emit(clean(&rbacv1.ClusterRole{TypeMeta: typeMeta(drift.KindClusterRole), ObjectMeta: r.ObjectMeta, Rules: r.Rules})); err != nil {
				return err
			}
		}
	}
	for i := range t.snap.Roles {
		r := t.snap.Roles[i]
		if _, cut := t.removed[drift.ObjectRef{Kind: drift.KindRole, Namespace: r.Namespace, Name: r.Name}]; cut {
			if err := emit(clean(&rbacv1.Role{TypeMeta: typeMeta(drift.KindRole), ObjectMeta: r.ObjectMeta, Rules: r.Rules})); err != nil {
				return err
			}
		}
	}
	return nil
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: kind}
}

// clean is obj without the fields the server sets, ready to apply.
func clean(obj runtime.Object) map[string]any {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil
	}
	if md, ok := u["metadata"].(map[string]any); ok {
		for _, f := range []string{"creationTimestamp", "resourceVersion", "uid", "managedFields", "generation"} {
			delete(md, f)
		}
	}
	return u
}
