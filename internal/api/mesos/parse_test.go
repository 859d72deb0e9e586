package mesos

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseResources(t *testing.T) {
	tests := []struct {
		in   string
		want Resources
	}{
		{
			"cpus:4;mem:8192;disk:10240;ports:[31000-32000,33000-33010];gpus:0",
			Resources{cpus(4), mem(8192), ScalarResource(ResourceDisk, 10240), ports(rng(31000, 32000), rng(33000, 33010))},
		},
		{"", nil},
		{" ; \n;", nil},
		{"mem:64;cpus:0.5", Resources{cpus(0.5), mem(64)}},
		{"cpus:1.2345", Resources{cpus(1.235)}},
		{"cpus:.5;mem:1e3", Resources{cpus(0.5), mem(1000)}},
		{" cpus : 1 \n mem:2 ", Resources{cpus(1), mem(2)}},
		{"ports:[ 1-5 , 3-8, 9-9 ]", Resources{ports(rng(1, 9))}},
		{"ports:[]", nil},
		{"cpus:1;cpus:0.5", Resources{cpus(1.5)}},
		{"ports:[1-2];ports:[5-6]", Resources{ports(rng(1, 2), rng(5, 6))}},
		{"disks:{b,a,b}", Resources{SetResource("disks", "a", "b")}},
		{"cpus(*):2", Resources{cpus(2)}},
		{
			"cpus(web):2;cpus:1;mem(web):8",
			Resources{cpus(1), {Name: ResourceCPUs, Type: Scalar, Scalar: &ScalarValue{Value: 2}, Role: "web"}, {Name: ResourceMem, Type: Scalar, Scalar: &ScalarValue{Value: 8}, Role: "web"}},
		},
		{"ports:[0-18446744073709551615]", Resources{ports(rng(0, 18446744073709551615))}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseResources(tt.in)
			if err != nil {
				t.Fatalf("ParseResources: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseResources = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseResourcesErrors(t *testing.T) {
	tests := []struct {
		in   string
		errs []string
	}{
		{"cpus", []string{`resource "cpus": want name:value`}},
		{"cpus:1:2", []string{"want name:value"}},
		{":4", []string{`resource "": name is empty`}},
		{"cpus:", []string{`resource "cpus": value is empty`}},
		{"cpus:four", []string{`resource "cpus": value "four" is not a number, [ranges] or {set}`}},
		{"cpus:-1", []string{"scalar -1 is not within [0, 1e+12]"}},
		{"cpus:1e400", []string{`number "1e400" is out of range`}},
		{"mem:2e12", []string{"scalar 2e+12 is not within"}},
		{"mem:1e12;mem:1e12", []string{"scalar 2e+12 is not within"}},
		{"ports:[1-2", []string{`ranges "[1-2": want [begin-end,...]`}},
		{"ports:[5-1]", []string{`"5-1" has begin > end`}},
		{"ports:[1-2,]", []string{`"" is not begin-end`}},
		{"ports:[a-b]", []string{`"a-b" is not begin-end`}},
		{"ports:[-1-5]", []string{"is not begin-end"}},
		{"ports:[1-2]x", []string{"want [begin-end,...]"}},
		{"ports:[1-2][3-4]", []string{"want [begin-end,...]"}},
		{"s:{a,,b}", []string{`set "{a,,b}": empty item`}},
		{"s:{a", []string{"want {item,...}"}},
		{"s:a}", []string{"brackets only open"}},
		{"x:1;x:[1-2]", []string{`resource "x": RANGES value conflicts with an earlier SCALAR value`}},
		{"cpus():1", []string{"want name(role)"}},
		{"cpus(a:1", []string{"want name(role)"}},
		{"cpus(a)b:1", []string{"want name(role)"}},
		{"cpus(a b):1", []string{"want name(role)"}},
		{"cpus:x;mem:y", []string{`"cpus"`, `"mem"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseResources(tt.in)
			if err == nil {
				t.Fatalf("ParseResources = %v, want an error", got)
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestResourcesString(t *testing.T) {
	r := Resources{cpus(0.5), {Name: ResourceMem, Type: Scalar, Scalar: &ScalarValue{Value: 64}, Role: "web"}, ports(rng(1, 2), rng(4, 4)), SetResource("s", "a", "b")}
	const want = "cpus:0.5;mem(web):64;ports:[1-2,4-4];s:{a,b}"
	if got := r.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	back, err := ParseResources(want)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("ParseResources(String) = %v, %v; want %v", back, err, r)
	}
}

func FuzzParseResources(f *testing.F) {
	for _, s := range []string{
		"cpus:4;mem:8192;disk:10240;ports:[31000-32000,33000-33010];gpus:0",
		"cpus(web):0.001;cpus:1.0005\nmem:1e3",
		"ports:[1-5,3-8];ports:[10-18446744073709551615]",
		"s:{b,a};t:{}",
		"cpus:x",
		"x(y:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseResources(s)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseResources(%q) = %v, invalid: %v", s, r, err)
		}
		text := r.String()
		again, err := ParseResources(text)
		if err != nil {
			t.Fatalf("ParseResources(%q) -> %q does not parse: %v", s, text, err)
		}
		if !reflect.DeepEqual(r, again) || again.String() != text {
			t.Fatalf("unstable: %q -> %#v -> %q -> %#v", s, r, text, again)
		}
	})
}
