package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadSpec reads a cluster spec from a YAML file, fills in defaults and validates it. Every
// problem is reported, as "cluster.yaml:7: agents[1].resources: ...".
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster spec: %w", err)
	}
	return ParseSpec(filepath.Base(path), b)
}

// ParseSpec parses a YAML cluster spec; file names it in error messages. Unknown fields are
// errors. The spec returned has its defaults filled in and is valid.
func ParseSpec(file string, data []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(file, data, err)
	}
	s.Default()
	if err := s.Validate(); err != nil {
		var se SpecError
		if errors.As(err, &se) {
			lines := fieldLines(data)
			for i := range se {
				se[i].File = file
				se[i].Line = lines.lineOf(se[i].Path)
			}
			return nil, se
		}
		return nil, err
	}
	return &s, nil
}

var (
	lineRE     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	notFoundRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// decodeError turns yaml.v3's errors into FieldErrors with the file, line and field path.
func decodeError(file string, data []byte, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	lines := fieldLines(data)
	var out SpecError
	for _, m := range msgs {
		fe := FieldError{File: file, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sub := lineRE.FindStringSubmatch(m); sub != nil {
			fe.Line, _ = strconv.Atoi(sub[1])
			fe.Msg = sub[2]
			if nf := notFoundRE.FindStringSubmatch(fe.Msg); nf != nil {
				fe.Path = lines.pathAt(fe.Line, nf[1])
				fe.Msg = "unknown field"
			} else {
				fe.Path = lines.pathAt(fe.Line, "")
			}
		}
		out = append(out, fe)
	}
	return out
}

// lineIndex maps field paths of a YAML document to their lines, and back.
type lineIndex struct {
	byPath map[string]int
	byLine map[int][]string // paths whose key is on the line, in document order
}

// fieldLines indexes the fields of a YAML document; an unparsable one gives an empty index.
func fieldLines(data []byte) lineIndex {
	idx := lineIndex{byPath: map[string]int{}, byLine: map[int][]string{}}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return idx
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				idx.add(p, k.Line)
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx.add(p, c.Line)
				walk(c, p)
			}
		}
	}
	walk(&doc, "")
	return idx
}

func (x lineIndex) add(path string, line int) {
	if _, ok := x.byPath[path]; !ok {
		x.byPath[path] = line
	}
	x.byLine[line] = append(x.byLine[line], path)
}

// lineOf returns the line of path, or of its nearest enclosing field present in the document;
// 0 when none is.
func (x lineIndex) lineOf(path string) int {
	for path != "" {
		if l, ok := x.byPath[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// pathAt returns the path of the field on line whose name is field, or of the deepest field on
// that line when field is empty; "" when there is none.
func (x lineIndex) pathAt(line int, field string) string {
	paths := x.byLine[line]
	for i := len(paths) - 1; i >= 0; i-- {
		p := paths[i]
		if field == "" || p == field || strings.HasSuffix(p, "."+field) {
			return p
		}
	}
	return ""
}

// UnmarshalYAML accepts `provider: local` as well as a mapping with name and settings.
func (p *ProviderSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&p.Name)
	}
	type plain ProviderSpec
	return joinTypeErrors(strictKeys(n, "ProviderSpec", "name", "settings"), n.Decode((*plain)(p)))
}

// joinTypeErrors merges yaml.TypeErrors so that the decoder reports them all; any other error
// wins.
func joinTypeErrors(errs ...error) error {
	var out yaml.TypeError
	for _, err := range errs {
		if err == nil {
			continue
		}
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return err
		}
		out.Errors = append(out.Errors, te.Errors...)
	}
	if len(out.Errors) == 0 {
		return nil
	}
	return &out
}

// UnmarshalYAML accepts `agents: 3` as well as a list of agent groups.
func (g *AgentGroups) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var count int
		if err := n.Decode(&count); err != nil {
			return err
		}
		if count < 0 {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %d agents is negative", n.Line, count)}}
		}
		*g = UniformAgents(count)
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a number of agents or a list of agent groups", n.Line)}}
	}
	errs := make([]error, 0, len(n.Content)+1)
	for _, item := range n.Content {
		errs = append(errs, strictKeys(item, "AgentSpec", "count", "resources", "attributes"))
	}
	out := AgentGroups{}
	errs = append(errs, n.Decode((*[]AgentSpec)(&out)))
	if err := joinTypeErrors(errs...); err != nil {
		return err
	}
	*g = out
	return nil
}

// strictKeys reports the keys of mapping n that are not in known, the way yaml.v3's KnownFields
// does (Node.Decode, which custom unmarshalers must use, does not check them).
func strictKeys(n *yaml.Node, typ string, known ...string) error {
	if n.Kind != yaml.MappingNode {
		return nil // Decode reports the type mismatch
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, name := range known {
			ok = ok || k.Value == name
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in type cluster.%s", k.Line, k.Value, typ))
		}
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}
