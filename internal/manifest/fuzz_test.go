package manifest

import (
	"errors"
	"testing"
)

// FuzzParse: any input either parses into objects whose lines are in the input and
// whose fields resolve to lines, or is refused with an error naming the source.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
		"---\n---\n# c\n",
		`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}]}`,
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: RoleList\n  items: []\n",
		"a: &x [*x]\n",
		"apiVersion: v1\nkind: Role\nmetadata: {creationTimestamp: 2024-01-01T00:00:00Z}\n",
		"apiVersion: 1\nkind: [x]\n",
		"{a: 1}: b\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse("fuzz.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Source != "fuzz.yaml" {
				t.Fatalf("error %v does not name the source", err)
			}
			return
		}
		lines := 1
		for _, b := range data {
			if b == '\n' {
				lines++
			}
		}
		for i := range objs {
			o := &objs[i]
			if o.Kind == "" || o.APIVersion == "" || o.Line < 1 || o.Line > lines {
				t.Fatalf("object %+v at line %d of %d", o, o.Line, lines)
			}
			if l := o.FieldLine("metadata.name"); l < 1 || l > lines {
				t.Fatalf("FieldLine = %d of %d", l, lines)
			}
		}
	})
}
