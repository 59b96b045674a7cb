package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		in    string
		want  []string // kind/name@line
		error string   // substring of the error; none: no error
	}{
		"multi-document YAML with comments and empty documents": {
			in:   "# header\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\n# only a comment\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: a\n",
			want: []string{"Namespace/a@3", "Role/a/r@11"},
		},
		"JSON": {
			in:   `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "j"}}`,
			want: []string{"Namespace/j@1"},
		},
		"a List's items at their own lines": {
			in:   "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: RoleList\n  items:\n  - apiVersion: rbac.authorization.k8s.io/v1\n    kind: Role\n    metadata: {name: y, namespace: x}\n",
			want: []string{"Namespace/x@4", "Role/x/y@10"},
		},
		"bad YAML names its line": {
			in:    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [unclosed\n",
			error: "f.yaml:",
		},
		"a document that is not a mapping": {
			in:    "apiVersion: v1\nkind: Namespace\n---\n- a\n- b\n",
			error: "f.yaml:4: not an object",
		},
		"kind is required": {
			in:    "apiVersion: v1\nmetadata:\n  name: a\n",
			error: "f.yaml:1: apiVersion and kind are required",
		},
		"a List without a list of items": {
			in:    "apiVersion: v1\nkind: List\nitems: {a: b}\n",
			error: "items: a List needs a list of objects",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs, err := Parse("f.yaml", []byte(tc.in))
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("error %v, want one containing %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				id := o.Kind + "/" + o.Name
				if o.Namespace != "" {
					id = o.Kind + "/" + o.Namespace + "/" + o.Name
				}
				got = append(got, id+"@"+strconv.Itoa(o.Line))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFieldLine(t *testing.T) {
	in := `apiVersion: guardrails.rbac-guardrails.io/v1alpha1
kind: RoleBaseline
metadata:
  name: b
  labels:
    app: x
spec:
  roles:
  - kind: Role
    name: a
  - kind: Role
    name: b
    rules:
    - verbs: ["get"]
      resources: ["pods"]
`
	objs, err := Parse("b.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	o := &objs[0]
	for path, want := range map[string]int{
		"spec.roles[1].rules[0].resources": 15,
		"spec.roles[1].rules[0]":           14,
		"spec.roles[1].name":               12,
		"spec.roles[1]":                    11,
		"spec.roles[5].name":               8, // no such item: the list
		"spec.missing":                     7,
		"metadata.labels[app]":             6,
		"":                                 1,
	} {
		if got := o.FieldLine(path); got != want {
			t.Errorf("FieldLine(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestReadDirectoryAndStdin(t *testing.T) {
	dir := t.TempDir()
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n"
	for name, content := range map[string]string{
		"b.yaml":        strings.Replace(ns, "%s", "b", 1),
		"a/one.yml":     strings.Replace(ns, "%s", "a", 1),
		"notes.txt":     "not a manifest",
		"c.json":        `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}`,
		"a/empty.yaml":  "",
		"z/deeper.yaml": strings.Replace(ns, "%s", "z", 1),
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := Read([]string{dir, "-"}, strings.NewReader(strings.Replace(ns, "%s", "stdin", 1)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Name+"@"+filepath.Base(o.Source))
	}
	if want := "a@one.yml b@b.yaml c@c.json z@deeper.yaml stdin@-"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if _, err := Read([]string{filepath.Join(dir, "missing.yaml")}, nil); err == nil || !strings.Contains(err.Error(), "missing.yaml: cannot read it") {
		t.Fatalf("a missing file: %v", err)
	}
}

// TestParseInPieces: a file large enough to be parsed in parallel pieces reads the
// same objects at the same lines, fields included, as one sequential parse, and an
// error deep in it names its true line.
func TestParseInPieces(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "---\n# object %d\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r%d\n  namespace: ns\nrules:\n- verbs: [get]\n  resources: [pods]\n", i, i)
	}
	data := []byte(b.String())
	if n := len(split(data, 8)); n < 2 {
		t.Fatalf("%d bytes made %d piece(s): the test does not exercise the split", len(data), n)
	}
	par, err := Parse("big.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := parsePiece("big.yaml", piece{data: data})
	if err != nil {
		t.Fatal(err)
	}
	if len(par) != 3000 || len(seq) != 3000 {
		t.Fatalf("%d and %d objects, want 3000", len(par), len(seq))
	}
	for i := range par {
		p, s := &par[i], &seq[i]
		if p.Name != s.Name || p.Line != s.Line || p.FieldLine("rules[0].resources") != s.FieldLine("rules[0].resources") {
			t.Fatalf("object %d: %s@%d (field %d) in pieces, %s@%d (field %d) in one", i, p.Name, p.Line, p.FieldLine("rules[0].resources"),
				s.Name, s.Line, s.FieldLine("rules[0].resources"))
		}
	}
	if want := 10*2999 + 3; par[2999].Line != want {
		t.Fatalf("the last object is at line %d, want %d", par[2999].Line, want)
	}
	bad := strings.Replace(b.String(), "  name: r2500\n", "  name: [r2500\n", 1)
	_, err = Parse("big.yaml", []byte(bad))
	_, seqErr := parsePiece("big.yaml", piece{data: []byte(bad)})
	if err == nil || seqErr == nil || err.Error() != seqErr.Error() || !strings.Contains(err.Error(), "big.yaml:250") {
		t.Fatalf("an error near line %d: %v in pieces, %v in one", 10*2500+6, err, seqErr)
	}
}
