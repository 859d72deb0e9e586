package services

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// selector is a Marathon label selector: comma-separated requirements that must all hold.
//
//	key              the label exists
//	key==value       it exists with this value (key!=value: it exists with another value)
//	key in (a, b)    it exists with one of these values (notin: with none of them)
//
// A backslash escapes the next character.
type selector []requirement

type requirement struct {
	key    string
	op     string // "exists", "==", "!=", "in", "notin"
	values []string
}

func parseSelector(s string) (selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if !balanced(s) {
		return nil, fmt.Errorf("%q: parentheses do not match", s)
	}
	var out selector
	for _, part := range splitTop(s) {
		r, err := checked(parseRequirement(strings.TrimSpace(part)))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// balanced reports whether the parentheses of s, escaped ones aside, open and close in pairs.
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s) && depth >= 0; i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	return depth == 0
}

// splitTop splits at commas outside parentheses and not escaped.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return strings.TrimSpace(b.String())
}

// indexUnescaped returns the first index of sep in s outside escapes, or -1.
func indexUnescaped(s, sep string) int {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i:i+len(sep)] == sep {
			return i
		}
	}
	return -1
}

func parseRequirement(p string) (requirement, error) {
	if p == "" {
		return requirement{}, errors.New("empty requirement")
	}
	for _, op := range []string{"==", "!="} {
		if i := indexUnescaped(p, op); i >= 0 {
			return requirement{key: unescape(p[:i]), op: op, values: []string{unescape(p[i+2:])}}, nil
		}
	}
	for _, op := range []string{" notin ", " in "} {
		if i := indexUnescaped(p, op); i >= 0 {
			set := strings.TrimSpace(p[i+len(op):])
			if !strings.HasPrefix(set, "(") || !strings.HasSuffix(set, ")") {
				return requirement{}, fmt.Errorf("%q: a set must be in parentheses", p)
			}
			var values []string
			for _, v := range splitTop(set[1 : len(set)-1]) {
				values = append(values, unescape(v))
			}
			return requirement{key: unescape(p[:i]), op: strings.TrimSpace(op), values: values}, nil
		}
	}
	return requirement{key: unescape(p), op: "exists"}, nil
}

// checked refuses a requirement without a key.
func checked(r requirement, err error) (requirement, error) {
	if err == nil && r.key == "" {
		return r, errors.New("a requirement without a label key")
	}
	return r, err
}

func (s selector) matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.key]
		if !ok {
			return false
		}
		switch r.op {
		case "==", "in":
			if !slices.Contains(r.values, v) {
				return false
			}
		case "!=", "notin":
			if slices.Contains(r.values, v) {
				return false
			}
		}
	}
	return true
}
