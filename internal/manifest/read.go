// Package manifest reads Kubernetes objects from files, directories and standard
// input as kubectl -f does (multi-document YAML, JSON, kind: List), keeping the file
// and line each object and each of its fields came from, for messages that point there.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Object is one object as read.
type Object struct {
	Source     string // the file, or "-" for standard input
	Line       int    // where the object starts, from 1
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Content is the object as JSON-compatible values (map[string]any, []any,
	// string, int64, float64, bool, nil), as unstructured.Unstructured holds it.
	Content map[string]any
	node    *yaml.Node
	offset  int // lines before the piece the node was parsed in
}

// Where is "file:line" of the object.
func (o *Object) Where() string { return fmt.Sprintf("%s:%d", o.Source, o.Line) }

// Error is bad input, at a file and line.
type Error struct {
	Source string
	Line   int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Source + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
}

// Read reads every object of paths: files, directories (their .yaml, .yml and .json
// files, recursively, in name order) and "-" for stdin. It stops at the first bad
// document, so a caller writes nothing from half-read input.
func Read(paths []string, stdin io.Reader) ([]Object, error) {
	var out []Object
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, &Error{Source: "-", Msg: err.Error()}
			}
			objs, err := Parse("-", data)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, &Error{Source: f, Msg: err.Error()}
			}
			objs, err := Parse(f, data)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

// expand lists the manifest files of a path.
func expand(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, &Error{Source: p, Msg: "cannot read it: " + strings.TrimPrefix(err.Error(), "stat "+p+": ")}
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, &Error{Source: p, Msg: err.Error()}
	}
	slices.Sort(files)
	return files, nil
}

// Parse reads the objects of one file's content. Empty documents are skipped; a
// List's items are objects of their own, at their own lines. A large file is parsed
// in pieces at its document markers, in parallel: a line starting with "---" always
// starts a document (YAML forbids it inside content), so the pieces parse alone.
func Parse(source string, data []byte) ([]Object, error) {
	pieces := split(data, 4*runtime.GOMAXPROCS(0))
	if len(pieces) == 1 {
		return parsePiece(source, pieces[0])
	}
	results := make([][]Object, len(pieces))
	errs := make([]error, len(pieces))
	var wg sync.WaitGroup
	for i := range pieces {
		wg.Go(func() { results[i], errs[i] = parsePiece(source, pieces[i]) })
	}
	wg.Wait()
	var out []Object
	for i := range pieces {
		if errs[i] != nil {
			return nil, errs[i] // the first in the file
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// piece is a run of whole documents, and the line it starts at less one.
type piece struct {
	data   []byte
	offset int
}

// minPiece keeps small files in one piece: parallel parsing pays from a few hundred kB.
const minPiece = 64 << 10

// split cuts data at document markers into at most n pieces of at least minPiece bytes.
func split(data []byte, n int) []piece {
	if len(data) < 2*minPiece || n < 2 {
		return []piece{{data: data}}
	}
	size := max(minPiece, len(data)/n)
	var out []piece
	start, line, startLine := 0, 0, 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			break
		}
		next := i + end + 1
		line++
		if next-start >= size && next < len(data) && isMarker(data[next:]) {
			out = append(out, piece{data: data[start:next], offset: startLine})
			start, startLine = next, line
		}
		i = next
	}
	return append(out, piece{data: data[start:], offset: startLine})
}

// isMarker: the line starts a document ("---" then a space, a tab or the line's end).
func isMarker(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("---")) {
		return false
	}
	return len(b) == 3 || b[3] == ' ' || b[3] == '\t' || b[3] == '\n' || b[3] == '\r'
}

func parsePiece(source string, p piece) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(p.data))
	var out []Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			line := yamlErrorLine(err)
			if line > 0 {
				line += p.offset
			}
			return nil, &Error{Source: source, Line: line, Msg: "not YAML or JSON: " + trimYAMLError(err)}
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // a document of comments only
		}
		objs, err := objectsOf(source, root, p.offset)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
}

func objectsOf(source string, n *yaml.Node, offset int) ([]Object, error) {
	o, err := objectOf(source, n, offset)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(o.Kind, "List") || o.Content["items"] == nil {
		return []Object{o}, nil
	}
	items := child(n, "items")
	if items == nil || items.Kind != yaml.SequenceNode {
		return nil, &Error{Source: source, Line: n.Line + offset, Msg: "items: a " + o.Kind + " needs a list of objects"}
	}
	var out []Object
	for _, it := range items.Content {
		objs, err := objectsOf(source, it, offset)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func objectOf(source string, n *yaml.Node, offset int) (Object, error) {
	line := n.Line + offset
	if n.Kind != yaml.MappingNode {
		return Object{}, &Error{Source: source, Line: line, Msg: "not an object: a manifest is a mapping with apiVersion and kind"}
	}
	var raw any
	if err := n.Decode(&raw); err != nil {
		return Object{}, &Error{Source: source, Line: line, Msg: trimYAMLError(err)}
	}
	content, err := jsonValue(raw, "")
	if err != nil {
		return Object{}, &Error{Source: source, Line: line, Msg: err.Error()}
	}
	m := content.(map[string]any)
	o := Object{Source: source, Line: line, Content: m, node: n, offset: offset}
	o.APIVersion, _ = m["apiVersion"].(string)
	o.Kind, _ = m["kind"].(string)
	if o.Kind == "" || o.APIVersion == "" {
		return Object{}, &Error{Source: source, Line: line, Msg: "apiVersion and kind are required on every object"}
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		o.Namespace, _ = md["namespace"].(string)
		o.Name, _ = md["name"].(string)
	}
	return o, nil
}

// jsonValue turns decoded YAML into JSON-compatible values: string keys, int64 and
// float64 numbers. path names the field in an error.
func jsonValue(v any, path string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			y, err := jsonValue(x, join(path, k))
			if err != nil {
				return nil, err
			}
			t[k] = y
		}
		return t, nil
	case map[any]any:
		return nil, fmt.Errorf("%s: keys must be strings", cmpOr(path, "the object"))
	case []any:
		for i, x := range t {
			y, err := jsonValue(x, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			t[i] = y
		}
		return t, nil
	case int:
		return int64(t), nil
	case time.Time:
		return t.UTC().Format(time.RFC3339), nil // an unquoted timestamp
	case uint64:
		return float64(t), nil
	}
	return v, nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// child is the value node of key in a mapping node.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
