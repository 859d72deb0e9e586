package marathon

import (
	"fmt"
	"strings"
)

// Messages used for whole-object and decoding problems.
const (
	// MsgInvalidObject is the ValidationError message for semantic problems (HTTP 422).
	MsgInvalidObject = "Object is not valid"
	// MsgInvalidJSON is the DecodeError message for JSON of the wrong shape (HTTP 400).
	MsgInvalidJSON = "Invalid JSON"
)

// ValidationError is Marathon's 422 body: every problem found, grouped by JSON path.
type ValidationError struct {
	Message string        `json:"message"`
	Details []ErrorDetail `json:"details"`
}

// ErrorDetail lists the problems found at one JSON path, such as "/id", "/constraints(1)" or
// "/healthChecks(0)/portIndex". "/" stands for the object as a whole.
type ErrorDetail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Message != "" {
		b.WriteString(strings.ToLower(e.Message[:1]) + e.Message[1:])
	}
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// Paths returns the paths that have errors, in the order they were found.
func (e *ValidationError) Paths() []string {
	out := make([]string, len(e.Details))
	for i, d := range e.Details {
		out[i] = d.Path
	}
	return out
}

// DecodeError reports JSON that is well formed but does not fit the type: unknown fields and
// values of the wrong JSON type, every one with its path. Marathon answers such a body with 400
// and this very shape: {"message": "Invalid JSON", "details": [...]}.
type DecodeError struct {
	ValidationError
}

// SyntaxError reports a body that is not JSON at all (HTTP 400 in Marathon).
type SyntaxError struct {
	Offset int64 // byte offset of the error, as encoding/json reports it
	Err    error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %v", e.Offset, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// problems collects ErrorDetails, grouping messages by path and keeping first-seen order.
type problems struct {
	details []ErrorDetail
	index   map[string]int
}

func (p *problems) add(path, msg string) {
	if path == "" {
		path = "/"
	}
	if p.index == nil {
		p.index = map[string]int{}
	}
	i, ok := p.index[path]
	if !ok {
		i = len(p.details)
		p.index[path] = i
		p.details = append(p.details, ErrorDetail{Path: path})
	}
	for _, m := range p.details[i].Errors {
		if m == msg {
			return
		}
	}
	p.details[i].Errors = append(p.details[i].Errors, msg)
}

func (p *problems) addf(path, format string, args ...any) {
	p.add(path, fmt.Sprintf(format, args...))
}

func (p *problems) empty() bool { return len(p.details) == 0 }

func (p *problems) err(message string) *ValidationError {
	if p.empty() {
		return nil
	}
	return &ValidationError{Message: message, Details: p.details}
}

// idx appends a Marathon-style array index to a path: idx("/constraints", 1) = "/constraints(1)".
func idx(path string, i int) string { return fmt.Sprintf("%s(%d)", path, i) }

// sub appends a field to a path: sub("/container", "docker") = "/container/docker".
func sub(path, field string) string {
	if path == "/" {
		return "/" + field
	}
	return path + "/" + field
}
