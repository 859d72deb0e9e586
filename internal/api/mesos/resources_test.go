package mesos

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func cpus(v float64) Resource { return ScalarResource(ResourceCPUs, v) }
func mem(v float64) Resource  { return ScalarResource(ResourceMem, v) }
func ports(rs ...Range) Resource {
	return RangesResource(ResourcePorts, rs...)
}
func rng(b, e uint64) Range { return Range{Begin: b, End: e} }

func TestScalarFixedPoint(t *testing.T) {
	tests := []struct {
		name string
		r    Resources
		want float64
	}{
		{"0.1+0.2 is exactly 0.3", Resources{cpus(0.1), cpus(0.2)}, 0.3},
		{"rounds down below half a thousandth", Resources{cpus(1.0004)}, 1},
		{"rounds half away from zero", Resources{cpus(1.0005)}, 1.001},
		{"keeps three decimals", Resources{cpus(2.125)}, 2.125},
		{"ignores other names", Resources{cpus(1), mem(64)}, 1},
		{"ignores non-scalar types", Resources{{Name: ResourceCPUs, Type: Ranges, Ranges: &RangesValue{}}}, 0},
		{"negative and NaN count as 0", Resources{cpus(-1), cpus(math.NaN()), cpus(2)}, 2},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Scalar(ResourceCPUs); got != tt.want {
				t.Errorf("Scalar = %v, want %v", got, tt.want)
			}
		})
	}
	var sum Resources
	for range 10 {
		sum = sum.Add(Resources{cpus(0.1)})
	}
	if got := sum.Scalar(ResourceCPUs); got != 1 {
		t.Errorf("ten times 0.1 = %v, want 1", got)
	}
	if got := sum.Subtract(Resources{cpus(0.7)}).Scalar(ResourceCPUs); got != 0.3 {
		t.Errorf("1 - 0.7 = %v, want 0.3", got)
	}
}

func TestRangesOf(t *testing.T) {
	r := Resources{
		ports(rng(31005, 31010), rng(31000, 31002)),
		ports(rng(31003, 31004), rng(32000, 32000)),
		RangesResource("other", rng(1, 2)),
	}
	want := []Range{rng(31000, 31010), rng(32000, 32000)}
	if got := r.RangesOf(ResourcePorts); !reflect.DeepEqual(got, want) {
		t.Errorf("RangesOf = %v, want %v", got, want)
	}
	if got := r.RangesOf("absent"); got != nil {
		t.Errorf("RangesOf(absent) = %v, want nil", got)
	}
	if got := (Resources{ports(rng(0, math.MaxUint64), rng(5, 6))}).RangesOf(ResourcePorts); !reflect.DeepEqual(got, []Range{rng(0, math.MaxUint64)}) {
		t.Errorf("RangesOf at the top of uint64 = %v", got)
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name string
		a, b Resources
		want Resources
	}{
		{"scalars sum", Resources{cpus(1), mem(128)}, Resources{cpus(0.5)}, Resources{cpus(1.5), mem(128)}},
		{
			"canonical order",
			Resources{RangesResource("zz", rng(1, 1)), ScalarResource("aa", 1), ports(rng(1, 2)), ScalarResource(ResourceGPUs, 1)},
			Resources{ScalarResource(ResourceDisk, 1), mem(1), cpus(1)},
			Resources{cpus(1), mem(1), ScalarResource(ResourceDisk, 1), ScalarResource(ResourceGPUs, 1), ports(rng(1, 2)), ScalarResource("aa", 1), RangesResource("zz", rng(1, 1))},
		},
		{"overlapping ranges merge", Resources{ports(rng(10, 20))}, Resources{ports(rng(15, 30))}, Resources{ports(rng(10, 30))}},
		{"adjacent ranges merge", Resources{ports(rng(10, 20))}, Resources{ports(rng(21, 30), rng(40, 41))}, Resources{ports(rng(10, 30), rng(40, 41))}},
		{"sets union", Resources{SetResource("s", "b", "a")}, Resources{SetResource("s", "c", "a")}, Resources{SetResource("s", "a", "b", "c")}},
		{"zeros dropped", Resources{cpus(0), mem(0.0001)}, Resources{ports()}, nil},
		{"same name, different type kept apart", Resources{ScalarResource("x", 1)}, Resources{RangesResource("x", rng(1, 2))}, Resources{RangesResource("x", rng(1, 2)), ScalarResource("x", 1)}},
		{
			"role and allocation info ignored",
			Resources{{Name: ResourceCPUs, Type: Scalar, Scalar: &ScalarValue{Value: 1}, Role: "web"}},
			Resources{cpus(1)}.WithAllocationRole("web"),
			Resources{cpus(2)},
		},
		{"TEXT resources dropped", Resources{{Name: "t", Type: Text}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Add(tt.b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Add = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestArithmeticDoesNotMutate(t *testing.T) {
	a := Resources{cpus(2), ports(rng(30, 40), rng(10, 20)), SetResource("s", "b", "a")}
	b := Resources{cpus(1), ports(rng(15, 35)), SetResource("s", "a")}
	a0, b0 := a.Clone(), b.Clone()
	sum := a.Add(b)
	a.Subtract(b)
	a.Contains(b)
	a.Equal(b)
	a.Flatten()
	if !reflect.DeepEqual(a, a0) || !reflect.DeepEqual(b, b0) {
		t.Fatalf("inputs mutated: %v, %v", a, b)
	}
	sum[1].Ranges.Range[0].Begin = 0
	if !reflect.DeepEqual(a, a0) || !reflect.DeepEqual(b, b0) {
		t.Fatalf("result aliases an input: %v, %v", a, b)
	}
}

func TestSubtract(t *testing.T) {
	tests := []struct {
		name string
		a, b Resources
		want Resources
	}{
		{"scalars", Resources{cpus(2), mem(1024)}, Resources{cpus(0.5), mem(24)}, Resources{cpus(1.5), mem(1000)}},
		{"floored at 0 and dropped", Resources{cpus(1), mem(64)}, Resources{cpus(3)}, Resources{mem(64)}},
		{"exact to 0 dropped", Resources{cpus(0.3)}, Resources{cpus(0.1), cpus(0.2)}, nil},
		{"middle range splits", Resources{ports(rng(100, 200))}, Resources{ports(rng(150, 160))}, Resources{ports(rng(100, 149), rng(161, 200))}},
		{"edges trimmed", Resources{ports(rng(100, 200))}, Resources{ports(rng(90, 100), rng(200, 210))}, Resources{ports(rng(101, 199))}},
		{"several holes across ranges", Resources{ports(rng(1, 10), rng(20, 30))}, Resources{ports(rng(2, 2), rng(5, 22), rng(30, 30))}, Resources{ports(rng(1, 1), rng(3, 4), rng(23, 29))}},
		{"whole range removed", Resources{ports(rng(1, 10))}, Resources{ports(rng(0, 100))}, nil},
		{"disjoint ranges untouched", Resources{ports(rng(1, 10))}, Resources{ports(rng(11, 20))}, Resources{ports(rng(1, 10))}},
		{"at the top of uint64", Resources{ports(rng(math.MaxUint64-5, math.MaxUint64))}, Resources{ports(rng(math.MaxUint64-1, math.MaxUint64))}, Resources{ports(rng(math.MaxUint64-5, math.MaxUint64-2))}},
		{"sets", Resources{SetResource("s", "a", "b", "c")}, Resources{SetResource("s", "b", "x")}, Resources{SetResource("s", "a", "c")}},
		{"absent from b", Resources{cpus(1)}, Resources{mem(1)}, Resources{cpus(1)}},
		{"type must match", Resources{ScalarResource("x", 1)}, Resources{RangesResource("x", rng(1, 1))}, Resources{ScalarResource("x", 1)}},
		{"allocation info ignored", Resources{cpus(2)}.WithAllocationRole("a"), Resources{cpus(1)}.WithAllocationRole("b"), Resources{cpus(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Subtract(tt.b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Subtract = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContains(t *testing.T) {
	have := Resources{cpus(2), mem(1024), ports(rng(31000, 31010), rng(31020, 31030)), SetResource("s", "a", "b")}
	tests := []struct {
		name string
		o    Resources
		want bool
	}{
		{"nothing", nil, true},
		{"itself", have, true},
		{"part", Resources{cpus(1.5), ports(rng(31005, 31006))}, true},
		{"split across entries", Resources{cpus(1), cpus(1), ports(rng(31000, 31001)), ports(rng(31030, 31030))}, true},
		{"too many cpus", Resources{cpus(2.001)}, false},
		{"port in a gap", Resources{ports(rng(31011, 31011))}, false},
		{"range across a gap", Resources{ports(rng(31010, 31020))}, false},
		{"missing resource", Resources{ScalarResource(ResourceGPUs, 1)}, false},
		{"zero of a missing resource", Resources{ScalarResource(ResourceGPUs, 0)}, true},
		{"set item missing", Resources{SetResource("s", "c")}, false},
		{"set subset", Resources{SetResource("s", "b")}, true},
		{"type mismatch", Resources{RangesResource(ResourceCPUs, rng(1, 1))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := have.Contains(tt.o); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v", tt.o, got, tt.want)
			}
		})
	}
}

func TestIsEmptyEqualClone(t *testing.T) {
	if !(Resources{cpus(0), ports(), SetResource("s")}).IsEmpty() || Resources(nil).IsEmpty() == false {
		t.Error("zero quantities should be empty")
	}
	if (Resources{ports(rng(1, 1))}).IsEmpty() {
		t.Error("one port is not empty")
	}
	a := Resources{mem(64), cpus(0.1), cpus(0.2), ports(rng(5, 6), rng(1, 4))}
	b := Resources{cpus(0.3), ports(rng(1, 6)), mem(64)}.WithAllocationRole("r")
	if !a.Equal(b) {
		t.Error("Equal should ignore order, split and allocation info")
	}
	if a.Equal(Resources{cpus(0.3), mem(64)}) {
		t.Error("Equal ignored ports")
	}
	c := b.Clone()
	c[0].Scalar.Value = 9
	c[1].Ranges.Range[0].End = 9
	c[2].AllocationInfo.Role = "x"
	if !reflect.DeepEqual(b, Resources{cpus(0.3), ports(rng(1, 6)), mem(64)}.WithAllocationRole("r")) {
		t.Errorf("Clone shares memory with its source: %v", b)
	}
	if Resources(nil).Clone() != nil {
		t.Error("Clone(nil) != nil")
	}
}

func TestWithAllocationRole(t *testing.T) {
	r := Resources{cpus(1), mem(2)}
	got := r.WithAllocationRole("web")
	for _, res := range got {
		if res.AllocationInfo == nil || res.AllocationInfo.Role != "web" {
			t.Fatalf("resource %v lacks the allocation role", res)
		}
	}
	if got[0].AllocationInfo == got[1].AllocationInfo {
		t.Error("resources share one AllocationInfo")
	}
	if r[0].AllocationInfo != nil {
		t.Error("WithAllocationRole mutated its input")
	}
}

func TestFlatten(t *testing.T) {
	r := Resources{cpus(0.1), cpus(0.2), ports(rng(31010, 31010), rng(31000, 31005)), SetResource("s", "b", "a"), ScalarResource("foo", 1.5)}
	want := map[string]any{
		"cpus": 0.3, "mem": 0.0, "disk": 0.0, "gpus": 0.0,
		"ports": "[31000-31005, 31010-31010]", "s": "{a, b}", "foo": 1.5,
	}
	if got := r.Flatten(); !reflect.DeepEqual(got, want) {
		t.Errorf("Flatten = %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Resources
		errs []string
	}{
		{"valid", Resources{cpus(1), mem(0), ports(rng(1, 5), rng(6, 6)), SetResource("s", "a")}, nil},
		{"no name", Resources{ScalarResource("", 1)}, []string{`resources[0] "": name is empty`}},
		{"negative", Resources{cpus(1), cpus(-1)}, []string{`resources[1] "cpus": scalar -1 is not within`}},
		{"NaN", Resources{cpus(math.NaN())}, []string{"scalar NaN"}},
		{"infinite", Resources{cpus(math.Inf(1))}, []string{"scalar +Inf"}},
		{"too large", Resources{mem(2 * MaxScalar)}, []string{"scalar 2e+12 is not within [0, 1e+12]"}},
		{"begin > end", Resources{ports(rng(5, 4))}, []string{"range [5-4] has begin > end"}},
		{"overlap", Resources{ports(rng(10, 20), rng(1, 10))}, []string{"ranges [1-10] and [10-20] overlap"}},
		{"unknown type", Resources{{Name: "t", Type: Text, Scalar: &ScalarValue{}}}, []string{`type "TEXT" is not SCALAR, RANGES or SET`}},
		{"missing field", Resources{{Name: "x", Type: Scalar}}, []string{"type is SCALAR but SCALAR value is missing"}},
		{
			"wrong field, every error reported",
			Resources{{Name: "x", Type: Ranges, Scalar: &ScalarValue{Value: 1}}, ScalarResource("", -2)},
			[]string{"type is RANGES but SCALAR value is set", "type is RANGES but RANGES value is missing", "name is empty", "scalar -2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if (err != nil) != (len(tt.errs) > 0) {
				t.Fatalf("Validate = %v, want errors %q", err, tt.errs)
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}
