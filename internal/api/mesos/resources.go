package mesos

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Names of the resources every agent has. Arithmetic results list them first, in this order.
const (
	ResourceCPUs  = "cpus"
	ResourceMem   = "mem"
	ResourceDisk  = "disk"
	ResourceGPUs  = "gpus"
	ResourcePorts = "ports"
)

var wellKnown = [...]string{ResourceCPUs, ResourceMem, ResourceDisk, ResourceGPUs, ResourcePorts}

// MaxScalar is the largest valid scalar. It keeps the fixed-point form exact in int64 and float64.
const MaxScalar = 1e12

// scalarUnit is the number of fixed-point units in 1.0: Mesos keeps three decimal digits.
const scalarUnit = 1000

// toFixed converts a scalar to thousandths; negative and NaN values count as 0.
func toFixed(v float64) int64 {
	if !(v > 0) {
		return 0
	}
	return int64(math.Round(min(v, MaxScalar) * scalarUnit))
}

func fromFixed(f int64) float64 { return float64(f) / scalarUnit }

// ScalarResource returns a scalar resource.
func ScalarResource(name string, v float64) Resource {
	return Resource{Name: name, Type: Scalar, Scalar: &ScalarValue{Value: v}}
}

// RangesResource returns a ranges resource.
func RangesResource(name string, rs ...Range) Resource {
	return Resource{Name: name, Type: Ranges, Ranges: &RangesValue{Range: slices.Clone(rs)}}
}

// SetResource returns a set resource.
func SetResource(name string, items ...string) Resource {
	return Resource{Name: name, Type: Set, Set: &SetValue{Item: slices.Clone(items)}}
}

// quantity is the canonical form of all resources of one (name, type): scalars in thousandths,
// ranges sorted and merged, set items sorted and unique.
type quantity struct {
	name   string
	typ    ValueType
	fixed  int64
	ranges []Range
	items  []string
}

// quantities returns r in canonical form, in canonical order, without empty quantities. Role and
// AllocationInfo are ignored; resources of a type other than SCALAR, RANGES or SET are dropped.
func quantities(r Resources) []quantity {
	qs := make([]quantity, 0, len(r))
	for _, res := range r {
		if res.Type != Scalar && res.Type != Ranges && res.Type != Set {
			continue
		}
		i := slices.IndexFunc(qs, func(q quantity) bool { return q.name == res.Name && q.typ == res.Type })
		if i < 0 {
			qs = append(qs, quantity{name: res.Name, typ: res.Type})
			i = len(qs) - 1
		}
		q := &qs[i]
		switch {
		case res.Type == Scalar && res.Scalar != nil:
			q.fixed += toFixed(res.Scalar.Value)
		case res.Type == Ranges && res.Ranges != nil:
			q.ranges = append(q.ranges, res.Ranges.Range...)
		case res.Type == Set && res.Set != nil:
			q.items = append(q.items, res.Set.Item...)
		}
	}
	for i := range qs {
		qs[i].ranges = mergeRanges(qs[i].ranges)
		slices.Sort(qs[i].items)
		qs[i].items = slices.Compact(qs[i].items)
	}
	qs = slices.DeleteFunc(qs, quantity.empty)
	slices.SortFunc(qs, func(a, b quantity) int { return compareKey(a.name, a.typ, b.name, b.typ) })
	return qs
}

// compareKey orders resources: the well-known names first, then by name, then by type.
func compareKey(aName string, aType ValueType, bName string, bType ValueType) int {
	return cmp.Or(
		cmp.Compare(rank(aName), rank(bName)),
		strings.Compare(aName, bName),
		strings.Compare(string(aType), string(bType)))
}

func rank(name string) int {
	if i := slices.Index(wellKnown[:], name); i >= 0 {
		return i
	}
	return len(wellKnown)
}

func (q quantity) empty() bool { return q.fixed <= 0 && len(q.ranges) == 0 && len(q.items) == 0 }

func (q quantity) equal(o quantity) bool {
	return q.name == o.name && q.typ == o.typ && q.fixed == o.fixed &&
		slices.Equal(q.ranges, o.ranges) && slices.Equal(q.items, o.items)
}

// minus subtracts o (of the same name and type) from q.
func (q quantity) minus(o quantity) quantity {
	q.fixed = max(0, q.fixed-o.fixed)
	q.ranges = subtractRanges(q.ranges, o.ranges)
	q.items = slices.DeleteFunc(slices.Clone(q.items), func(s string) bool {
		_, found := slices.BinarySearch(o.items, s)
		return found
	})
	return q
}

// covers reports whether o (of the same name and type) fits in q.
func (q quantity) covers(o quantity) bool { return o.minus(q).empty() }

func (q quantity) resource() Resource {
	switch q.typ {
	case Scalar:
		return ScalarResource(q.name, fromFixed(q.fixed))
	case Ranges:
		return Resource{Name: q.name, Type: Ranges, Ranges: &RangesValue{Range: q.ranges}}
	default:
		return Resource{Name: q.name, Type: Set, Set: &SetValue{Item: q.items}}
	}
}

func (q quantity) flat() any {
	switch q.typ {
	case Scalar:
		return fromFixed(q.fixed)
	case Ranges:
		return formatRanges(q.ranges, ", ")
	default:
		return formatSet(q.items, ", ")
	}
}

func fromQuantities(qs []quantity) Resources {
	if len(qs) == 0 {
		return nil
	}
	out := make(Resources, len(qs))
	for i, q := range qs {
		out[i] = q.resource()
	}
	return out
}

func find(qs []quantity, q quantity) int {
	return slices.IndexFunc(qs, func(p quantity) bool { return p.name == q.name && p.typ == q.typ })
}

// mergeRanges sorts rs in place and merges overlapping and adjacent ranges. Ranges with
// begin > end are dropped.
func mergeRanges(rs []Range) []Range {
	rs = slices.DeleteFunc(rs, func(r Range) bool { return r.Begin > r.End })
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Begin, b.Begin) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (out[n-1].End == math.MaxUint64 || r.Begin <= out[n-1].End+1) {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// subtractRanges returns a minus b; both must be sorted and merged.
func subtractRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		for j < len(b) && b[j].End < r.Begin {
			j++
		}
		covered := false
		for k := j; k < len(b) && b[k].Begin <= r.End; k++ {
			if b[k].Begin > r.Begin {
				out = append(out, Range{Begin: r.Begin, End: b[k].Begin - 1})
			}
			if b[k].End >= r.End {
				covered = true
				break
			}
			r.Begin = b[k].End + 1
		}
		if !covered {
			out = append(out, r)
		}
	}
	return out
}

// Scalar returns the sum of the scalar resources named name, rounded to three decimals.
func (r Resources) Scalar(name string) float64 {
	var sum int64
	for _, res := range r {
		if res.Name == name && res.Type == Scalar && res.Scalar != nil {
			sum += toFixed(res.Scalar.Value)
		}
	}
	return fromFixed(sum)
}

// RangesOf returns the ranges of the resources named name, sorted and merged.
func (r Resources) RangesOf(name string) []Range {
	var rs []Range
	for _, res := range r {
		if res.Name == name && res.Type == Ranges && res.Ranges != nil {
			rs = append(rs, res.Ranges.Range...)
		}
	}
	return mergeRanges(rs)
}

// Add returns r plus o, one resource per (name, type), in canonical order. It ignores Role and
// AllocationInfo and never mutates its inputs.
func (r Resources) Add(o Resources) Resources {
	return fromQuantities(quantities(slices.Concat(r, o)))
}

// Subtract returns r minus o: scalars floored at 0 (and dropped when 0), ranges and sets
// set-differenced. It ignores Role and AllocationInfo and never mutates its inputs.
func (r Resources) Subtract(o Resources) Resources {
	qs, sub := quantities(r), quantities(o)
	for i := range qs {
		if j := find(sub, qs[i]); j >= 0 {
			qs[i] = qs[i].minus(sub[j])
		}
	}
	return fromQuantities(slices.DeleteFunc(qs, quantity.empty))
}

// Contains reports whether every quantity of o fits in r.
func (r Resources) Contains(o Resources) bool {
	have := quantities(r)
	for _, q := range quantities(o) {
		if i := find(have, q); i < 0 || !have[i].covers(q) {
			return false
		}
	}
	return true
}

// IsEmpty reports whether r holds no positive quantity.
func (r Resources) IsEmpty() bool { return len(quantities(r)) == 0 }

// Equal reports whether r and o hold the same quantities, whatever their order, split, role and
// allocation info.
func (r Resources) Equal(o Resources) bool {
	return slices.EqualFunc(quantities(r), quantities(o), quantity.equal)
}

// Clone returns a deep copy of r.
func (r Resources) Clone() Resources {
	if r == nil {
		return nil
	}
	out := make(Resources, len(r))
	for i, res := range r {
		if res.Scalar != nil {
			res.Scalar = &ScalarValue{Value: res.Scalar.Value}
		}
		if res.Ranges != nil {
			res.Ranges = &RangesValue{Range: slices.Clone(res.Ranges.Range)}
		}
		if res.Set != nil {
			res.Set = &SetValue{Item: slices.Clone(res.Set.Item)}
		}
		if res.AllocationInfo != nil {
			res.AllocationInfo = &AllocationInfo{Role: res.AllocationInfo.Role}
		}
		out[i] = res
	}
	return out
}

// WithAllocationRole returns a copy of r with AllocationInfo{Role: role} on each resource, as
// offers carry them.
func (r Resources) WithAllocationRole(role string) Resources {
	out := r.Clone()
	for i := range out {
		out[i].AllocationInfo = &AllocationInfo{Role: role}
	}
	return out
}

// Flatten returns r as /master/state shows it: scalars as float64, ranges as
// "[31000-31005, 31010-31010]", sets as "{a, b}". As in Mesos, cpus, gpus, mem and disk are
// always present, 0 when r has none.
func (r Resources) Flatten() map[string]any {
	m := map[string]any{ResourceCPUs: 0.0, ResourceGPUs: 0.0, ResourceMem: 0.0, ResourceDisk: 0.0}
	for _, q := range quantities(r) {
		m[q.name] = q.flat()
	}
	return m
}

// String returns r in the agent flag format ParseResources reads, e.g.
// "cpus:4;mem:8192;ports:[31000-32000]", one item per resource in r's order.
func (r Resources) String() string {
	var b strings.Builder
	for i, res := range r {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(res.Name)
		if res.Role != "" {
			b.WriteString("(" + res.Role + ")")
		}
		b.WriteByte(':')
		switch {
		case res.Scalar != nil:
			b.WriteString(formatScalar(res.Scalar.Value))
		case res.Ranges != nil:
			b.WriteString(formatRanges(res.Ranges.Range, ","))
		case res.Set != nil:
			b.WriteString(formatSet(res.Set.Item, ","))
		}
	}
	return b.String()
}

func formatScalar(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func formatRanges(rs []Range, sep string) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatUint(r.Begin, 10) + "-" + strconv.FormatUint(r.End, 10)
	}
	return "[" + strings.Join(parts, sep) + "]"
}

func formatSet(items []string, sep string) string { return "{" + strings.Join(items, sep) + "}" }

// Validate checks every resource: a name, a type of SCALAR, RANGES or SET with exactly the
// matching value field, scalars finite, non-negative and at most MaxScalar, ranges with
// begin <= end and no overlaps within one resource. It reports every problem found.
func (r Resources) Validate() error {
	var errs []error
	for i, res := range r {
		for _, err := range res.problems() {
			errs = append(errs, fmt.Errorf("resources[%d] %q: %w", i, res.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (res Resource) problems() []error {
	var errs []error
	if res.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	fields := map[ValueType]bool{Scalar: res.Scalar != nil, Ranges: res.Ranges != nil, Set: res.Set != nil}
	if _, ok := fields[res.Type]; !ok {
		return append(errs, fmt.Errorf("type %q is not SCALAR, RANGES or SET", res.Type))
	}
	for _, t := range []ValueType{Scalar, Ranges, Set} {
		if fields[t] != (t == res.Type) {
			errs = append(errs, fmt.Errorf("type is %s but %s value is %s", res.Type, t, presence(fields[t])))
		}
	}
	switch {
	case res.Scalar != nil:
		if v := res.Scalar.Value; math.IsNaN(v) || v < 0 || v > MaxScalar {
			errs = append(errs, fmt.Errorf("scalar %v is not within [0, %v]", v, float64(MaxScalar)))
		}
	case res.Ranges != nil:
		errs = append(errs, rangeProblems(res.Ranges.Range)...)
	}
	return errs
}

func presence(set bool) string {
	if set {
		return "set"
	}
	return "missing"
}

func rangeProblems(rs []Range) []error {
	var errs []error
	for _, r := range rs {
		if r.Begin > r.End {
			errs = append(errs, fmt.Errorf("range [%d-%d] has begin > end", r.Begin, r.End))
		}
	}
	sorted := slices.SortedFunc(slices.Values(rs), func(a, b Range) int { return cmp.Compare(a.Begin, b.Begin) })
	for i := 1; i < len(sorted); i++ {
		if prev, r := sorted[i-1], sorted[i]; r.Begin <= prev.End {
			errs = append(errs, fmt.Errorf("ranges [%d-%d] and [%d-%d] overlap", prev.Begin, prev.End, r.Begin, r.End))
		}
	}
	return errs
}

// ParseResources parses resources in the Mesos agent flag format,
// "cpus:4;mem:8192;disk:10240;ports:[31000-32000,33000-33010];gpus:0": items separated by ';' or
// newlines, each "name:value" or "name(role):value" (role "*" means unreserved). A value is a
// scalar, ranges "[a-b,c-d]" or a set "{a,b}"; whitespace inside it is ignored. As in Mesos,
// items of the same name and role are merged and empty quantities (gpus:0) are dropped. The
// result is valid and in canonical order. Every malformed item is reported.
func ParseResources(s string) (Resources, error) {
	var errs []error
	byRole := map[string]Resources{}
	types := map[string]ValueType{}
	for _, item := range splitItems(s) {
		res, err := parseResource(item)
		if err == nil && types[res.Name] != "" && types[res.Name] != res.Type {
			err = fmt.Errorf("resource %q: %s value conflicts with an earlier %s value", res.Name, res.Type, types[res.Name])
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		types[res.Name] = res.Type
		byRole[res.Role] = append(byRole[res.Role], res)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out Resources
	for role, rs := range byRole {
		for _, res := range rs.Add(nil) {
			res.Role = role
			out = append(out, res)
		}
	}
	slices.SortFunc(out, func(a, b Resource) int {
		return cmp.Or(compareKey(a.Name, a.Type, b.Name, b.Type), strings.Compare(a.Role, b.Role))
	})
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseResource parses one "name:value" or "name(role):value" item.
func parseResource(item string) (Resource, error) {
	key, text, ok := strings.Cut(item, ":")
	if !ok || strings.Contains(text, ":") {
		return Resource{}, fmt.Errorf("resource %q: want name:value or name(role):value", item)
	}
	name, role, err := parseResourceKey(key)
	if err != nil {
		return Resource{}, err
	}
	v, err := parseValue(text)
	if err != nil {
		return Resource{}, fmt.Errorf("resource %q: %w", name, err)
	}
	res := Resource{Name: name, Type: v.typ, Role: role}
	switch v.typ {
	case Scalar:
		if v.scalar < 0 || v.scalar > MaxScalar {
			return Resource{}, fmt.Errorf("resource %q: scalar %v is not within [0, %v]", name, v.scalar, float64(MaxScalar))
		}
		res.Scalar = &ScalarValue{Value: v.scalar}
	case Ranges:
		res.Ranges = &RangesValue{Range: v.ranges}
	case Set:
		res.Set = &SetValue{Item: v.items}
	default:
		return Resource{}, fmt.Errorf("resource %q: value %q is not a number, [ranges] or {set}", name, v.text)
	}
	return res, nil
}

// parseResourceKey splits "name" or "name(role)"; role "*" becomes "".
func parseResourceKey(key string) (name, role string, err error) {
	name, rest, hasRole := strings.Cut(key, "(")
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", fmt.Errorf("resource %q: name is empty", key)
	}
	if !hasRole {
		return name, "", nil
	}
	role, after, closed := strings.Cut(rest, ")")
	role = strings.TrimSpace(role)
	if !closed || strings.TrimSpace(after) != "" || role == "" || strings.ContainsAny(role, "() \t\r\v\f") {
		return "", "", fmt.Errorf("resource %q: want name(role) with a role without spaces or parentheses", key)
	}
	if role == "*" {
		role = ""
	}
	return name, role, nil
}
