package mesos

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ParseAttributes parses agent attributes in the Mesos flag format, "rack:r1;zone:a;level:3;ids:[1-5]":
// items separated by ';' or newlines, each "name:value" split at the first ':'. A number is
// SCALAR, "[a-b,c-d]" RANGES, "{a,b}" SET and anything else TEXT; whitespace inside a value is
// ignored, as in Mesos. Every malformed item is reported.
func ParseAttributes(s string) ([]Attribute, error) {
	var out []Attribute
	var errs []error
	for _, item := range splitItems(s) {
		name, text, ok := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, fmt.Errorf("attribute %q: want name:value", item))
			continue
		}
		v, err := parseValue(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("attribute %q: %w", name, err))
			continue
		}
		out = append(out, v.attribute(name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// FlattenAttributes returns attributes as /master/state shows them: TEXT as a string, SCALAR as
// a float64, RANGES and SET in their string form. A later attribute of the same name wins.
func FlattenAttributes(a []Attribute) map[string]any {
	m := make(map[string]any, len(a))
	for _, attr := range a {
		if attr.Type == Scalar && attr.Scalar != nil {
			m[attr.Name] = attr.Scalar.Value
		} else {
			m[attr.Name] = attr.String()
		}
	}
	return m
}

// String returns the attribute's value as text: "r1", "3", "[1-5, 7-9]", "{a, b}".
func (a Attribute) String() string {
	switch {
	case a.Type == Text && a.Text != nil:
		return a.Text.Value
	case a.Type == Scalar && a.Scalar != nil:
		return formatScalar(a.Scalar.Value)
	case a.Type == Ranges && a.Ranges != nil:
		return formatRanges(a.Ranges.Range, ", ")
	case a.Type == Set && a.Set != nil:
		return formatSet(a.Set.Item, ", ")
	}
	return ""
}

// splitItems splits a flag value at ';' and newlines, dropping blank items.
func splitItems(s string) []string {
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' })
	return slices.DeleteFunc(items, func(item string) bool { return strings.TrimSpace(item) == "" })
}

// value is one value in the Mesos text format.
type value struct {
	typ    ValueType
	scalar float64
	ranges []Range
	items  []string
	text   string
}

var number = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// parseValue parses a value in the Mesos text format, whitespace removed first: "[1-5,7-9]" is
// RANGES (merged), "{a,b}" is SET (sorted, unique), a decimal number is SCALAR, anything else
// without brackets is TEXT.
func parseValue(s string) (value, error) {
	s = strings.Join(strings.Fields(s), "")
	switch {
	case s == "":
		return value{}, errors.New("value is empty")
	case s[0] == '[':
		rs, err := parseRanges(s)
		return value{typ: Ranges, ranges: rs}, err
	case s[0] == '{':
		items, err := parseSet(s)
		return value{typ: Set, items: items}, err
	case number.MatchString(s):
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return value{}, fmt.Errorf("number %q is out of range", s)
		}
		return value{typ: Scalar, scalar: v}, nil
	case strings.ContainsAny(s, "[]{}"):
		return value{}, fmt.Errorf("value %q: brackets only open [ranges] or {sets}", s)
	}
	return value{typ: Text, text: s}, nil
}

func parseRanges(s string) ([]Range, error) {
	inner, ok := strings.CutSuffix(s[1:], "]")
	if !ok || strings.ContainsAny(inner, "[]{}") {
		return nil, fmt.Errorf("ranges %q: want [begin-end,...]", s)
	}
	if inner == "" {
		return nil, nil
	}
	var rs []Range
	for part := range strings.SplitSeq(inner, ",") {
		b, e, ok := strings.Cut(part, "-")
		begin, errBegin := strconv.ParseUint(b, 10, 64)
		end, errEnd := strconv.ParseUint(e, 10, 64)
		if !ok || errBegin != nil || errEnd != nil {
			return nil, fmt.Errorf("ranges %q: %q is not begin-end with integers in [0, 2^64)", s, part)
		}
		if begin > end {
			return nil, fmt.Errorf("ranges %q: %q has begin > end", s, part)
		}
		rs = append(rs, Range{Begin: begin, End: end})
	}
	return mergeRanges(rs), nil
}

func parseSet(s string) ([]string, error) {
	inner, ok := strings.CutSuffix(s[1:], "}")
	if !ok || strings.ContainsAny(inner, "[]{}") {
		return nil, fmt.Errorf("set %q: want {item,...}", s)
	}
	if inner == "" {
		return []string{}, nil
	}
	items := strings.Split(inner, ",")
	if slices.Contains(items, "") {
		return nil, fmt.Errorf("set %q: empty item", s)
	}
	slices.Sort(items)
	return slices.Compact(items), nil
}

func (v value) attribute(name string) Attribute {
	a := Attribute{Name: name, Type: v.typ}
	switch v.typ {
	case Scalar:
		a.Scalar = &ScalarValue{Value: v.scalar}
	case Ranges:
		a.Ranges = &RangesValue{Range: v.ranges}
	case Set:
		a.Set = &SetValue{Item: v.items}
	default:
		a.Text = &TextValue{Value: v.text}
	}
	return a
}
