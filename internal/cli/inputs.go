package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/config/crd"
	"github.com/rbac-guardrails/rbac-guardrails/internal/crdvalidation"
	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
	"github.com/rbac-guardrails/rbac-guardrails/internal/manifest"
)

// inputs are the objects of -f, sorted into what the engine reads, with where each
// came from.
type inputs struct {
	baselines []v1alpha1.RoleBaseline
	baseAt    map[string]*manifest.Object // by baseline name
	snap      drift.Snapshot
	at        map[drift.ObjectRef]*manifest.Object
	skipped   map[string]int // objects of kinds the engine does not read, by kind
}

// readInputs reads and sorts the objects of files; a Role or RoleBinding without a
// namespace is in namespace, as kubectl -f puts it in -n or the context's. Any bad
// object is an error naming its file, line and field, and nothing of the input is used.
func readInputs(ctx context.Context, files []string, stdin io.Reader, namespace string) (*inputs, error) {
	objs, err := manifest.Read(files, stdin)
	if err != nil {
		return nil, err
	}
	in := &inputs{baseAt: map[string]*manifest.Object{}, at: map[drift.ObjectRef]*manifest.Object{}, skipped: map[string]int{}}
	in.size(objs)
	var validator *crdvalidation.Validator
	var decodes []func() error
	for i := range objs {
		o := &objs[i]
		switch gk := groupOf(o.APIVersion) + "/" + o.Kind; gk {
		case v1alpha1.GroupVersion.Group + "/RoleBaseline":
			if validator == nil {
				if validator, err = crdvalidation.New(crd.RoleBaselines, v1alpha1.GroupVersion.Version); err != nil {
					return nil, err
				}
			}
			rb, err := readBaseline(ctx, validator, o)
			if err != nil {
				return nil, err
			}
			if prev := in.baseAt[rb.Name]; prev != nil {
				return nil, &manifest.Error{Source: o.Source, Line: o.Line, Msg: "RoleBaseline " + rb.Name + " is also at " + prev.Where() + ": give each baseline one name"}
			}
			in.baselines = append(in.baselines, *rb)
			in.baseAt[rb.Name] = o
		case rbacv1.GroupName + "/Role", rbacv1.GroupName + "/ClusterRole", rbacv1.GroupName + "/RoleBinding",
			rbacv1.GroupName + "/ClusterRoleBinding", "/Namespace":
			decode, err := in.addObject(o, namespace)
			if err != nil {
				return nil, err
			}
			decodes = append(decodes, decode)
		default:
			in.skipped[o.Kind]++
		}
	}
	if err := parallel(decodes); err != nil {
		return nil, err
	}
	in.impliedNamespaces()
	return in, nil
}

// size makes room for every RBAC object, so that addObject's slots stay put while
// the decodes fill them in parallel.
func (in *inputs) size(objs []manifest.Object) {
	n := map[string]int{}
	for i := range objs {
		n[objs[i].Kind]++
	}
	s := &in.snap
	s.Roles = make([]rbacv1.Role, 0, n[drift.KindRole])
	s.ClusterRoles = make([]rbacv1.ClusterRole, 0, n[drift.KindClusterRole])
	s.RoleBindings = make([]rbacv1.RoleBinding, 0, n[drift.KindRoleBinding])
	s.ClusterRoleBindings = make([]rbacv1.ClusterRoleBinding, 0, n[drift.KindClusterRoleBinding])
	s.Namespaces = make([]corev1.Namespace, 0, n[drift.KindNamespace])
}

// parallel runs fns on every core and returns the error of the first that failed.
func parallel(fns []func() error) error {
	errs := make([]error, len(fns))
	workers := min(len(fns), goruntime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(fns); i += workers {
				errs[i] = fns[i]()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func groupOf(apiVersion string) string {
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return "" // the core group
}

// readBaseline validates a RoleBaseline as the API server would, then compiles it.
func readBaseline(ctx context.Context, v *crdvalidation.Validator, o *manifest.Object) (*v1alpha1.RoleBaseline, error) {
	content := runtime.DeepCopyJSON(o.Content)
	if errs := v.Validate(ctx, content); len(errs) > 0 {
		e := errs[0]
		msg := e.Error()
		if len(errs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
		}
		return nil, &manifest.Error{Source: o.Source, Line: o.FieldLine(e.Field), Msg: "RoleBaseline " + o.Name + ": " + msg}
	}
	rb := &v1alpha1.RoleBaseline{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(content, rb); err != nil {
		return nil, &manifest.Error{Source: o.Source, Line: o.Line, Msg: "RoleBaseline " + o.Name + ": " + err.Error()}
	}
	if _, err := drift.NewEvaluator(&rb.Spec, nil); err != nil {
		// The engine's errors start with the field they are about.
		at, _, _ := strings.Cut(err.Error(), ":")
		if !strings.HasPrefix(at, "spec") || strings.Contains(at, " ") {
			at = "spec"
		}
		return nil, &manifest.Error{Source: o.Source, Line: o.FieldLine(at), Msg: "RoleBaseline " + o.Name + ": " + err.Error()}
	}
	return rb, nil
}

// addObject places an RBAC object or Namespace and returns the strict decode that
// fills its slot (an unknown field is a typo), to be run in parallel with others.
func (in *inputs) addObject(o *manifest.Object, namespace string) (func() error, error) {
	namespaced := o.Kind == drift.KindRole || o.Kind == drift.KindRoleBinding
	if namespaced && o.Namespace == "" && namespace != "" {
		o.Namespace = namespace
		md, _ := o.Content["metadata"].(map[string]any)
		if md != nil {
			md["namespace"] = namespace
		}
	}
	decode := func(into any) func() error {
		return func() error {
			data, err := json.Marshal(o.Content)
			if err != nil {
				return &manifest.Error{Source: o.Source, Line: o.Line, Msg: err.Error()}
			}
			return strictly(o, data, into)
		}
	}
	if o.Name == "" {
		return nil, &manifest.Error{Source: o.Source, Line: o.FieldLine("metadata"), Msg: o.Kind + ": metadata.name is required"}
	}
	ref := drift.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	switch {
	case namespaced && o.Namespace == "":
		return nil, &manifest.Error{Source: o.Source, Line: o.FieldLine("metadata"), Msg: o.Kind + " " + o.Name +
			": metadata.namespace is required: set it, or pass -n"}
	case !namespaced && o.Namespace != "":
		ref.Namespace = "" // cluster-scoped: the server ignores it
	}
	if prev := in.at[ref]; prev != nil {
		return nil, &manifest.Error{Source: o.Source, Line: o.Line, Msg: ref.String() + " is also at " + prev.Where() + ": the input must name each object once"}
	}
	in.at[ref] = o
	s := &in.snap
	switch o.Kind {
	case drift.KindRole:
		s.Roles = append(s.Roles, rbacv1.Role{})
		return decode(&s.Roles[len(s.Roles)-1]), nil
	case drift.KindClusterRole:
		s.ClusterRoles = append(s.ClusterRoles, rbacv1.ClusterRole{})
		return decode(&s.ClusterRoles[len(s.ClusterRoles)-1]), nil
	case drift.KindRoleBinding:
		s.RoleBindings = append(s.RoleBindings, rbacv1.RoleBinding{})
		return decode(&s.RoleBindings[len(s.RoleBindings)-1]), nil
	case drift.KindClusterRoleBinding:
		s.ClusterRoleBindings = append(s.ClusterRoleBindings, rbacv1.ClusterRoleBinding{})
		return decode(&s.ClusterRoleBindings[len(s.ClusterRoleBindings)-1]), nil
	}
	s.Namespaces = append(s.Namespaces, corev1.Namespace{})
	return decode(&s.Namespaces[len(s.Namespaces)-1]), nil
}

// strictly decodes data into an object, refusing unknown fields.
func strictly(o *manifest.Object, data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return &manifest.Error{Source: o.Source, Line: o.Line, Msg: o.Kind + " " + o.Name + ": " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// impliedNamespaces: offline, a namespace an object is in or a baseline's scope lists
// is taken to exist (without labels) unless a Namespace object says more.
func (in *inputs) impliedNamespaces() {
	have := map[string]bool{}
	for _, n := range in.snap.Namespaces {
		have[n.Name] = true
	}
	want := map[string]bool{}
	for ref := range in.at {
		if ref.Namespace != "" {
			want[ref.Namespace] = true
		}
	}
	for _, rb := range in.baselines {
		for _, ns := range rb.Spec.Scope.Namespaces {
			want[ns] = true
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(want)) {
		if !have[ns] {
			n := corev1.Namespace{}
			n.Name = ns
			in.snap.Namespaces = append(in.snap.Namespaces, n)
		}
	}
}

// skippedText lists the kinds skipped, for stderr.
func skippedText(skipped map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(skipped)) {
		parts = append(parts, fmt.Sprintf("%s (%d)", k, skipped[k]))
	}
	return strings.Join(parts, ", ")
}
