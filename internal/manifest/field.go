package manifest

import (
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// FieldLine is the line of a field of the object, by its path as field.Path prints it
// ("spec.roles[2].rules[0].verbs", "metadata.labels[app]"), or of the deepest part of
// it that exists; the object's line when none does.
func (o *Object) FieldLine(path string) int {
	n, line := o.node, o.Line
	for _, part := range splitPath(path) {
		var next *yaml.Node
		switch {
		case n == nil:
		case part.index >= 0 && n.Kind == yaml.SequenceNode && part.index < len(n.Content):
			next = n.Content[part.index]
		case part.index < 0 && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part.key {
					line = n.Content[i].Line + o.offset
					next = n.Content[i+1]
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
		if part.index >= 0 {
			line = next.Line + o.offset
		}
	}
	return line
}

type pathPart struct {
	key   string
	index int // -1 for a key
}

var partRE = regexp.MustCompile(`([^.\[\]]+)|\[([^\]]*)\]`)

func splitPath(path string) []pathPart {
	var out []pathPart
	for _, m := range partRE.FindAllStringSubmatch(path, -1) {
		if m[1] != "" {
			out = append(out, pathPart{key: m[1], index: -1})
			continue
		}
		if i, err := strconv.Atoi(m[2]); err == nil {
			out = append(out, pathPart{index: i})
		} else {
			out = append(out, pathPart{key: strings.Trim(m[2], `"`), index: -1})
		}
	}
	return out
}

// yamlErrorLine reads the line a YAML parse error names ("yaml: line 3: ..."), or 0.
func yamlErrorLine(err error) int {
	m := lineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// trimYAMLError drops the "yaml: line N:" prefix, which Error places itself.
func trimYAMLError(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if loc := lineRE.FindStringIndex(s); loc != nil && loc[0] == 0 {
		s = strings.TrimLeft(s[loc[1]:], ": ")
	}
	return s
}
