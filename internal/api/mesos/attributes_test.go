package mesos

import (
	"reflect"
	"strings"
	"testing"
)

func text(name, v string) Attribute {
	return Attribute{Name: name, Type: Text, Text: &TextValue{Value: v}}
}

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		in   string
		want []Attribute
	}{
		{
			"rack:r1;zone:a;level:3;ids:[1-5]",
			[]Attribute{
				text("rack", "r1"), text("zone", "a"),
				{Name: "level", Type: Scalar, Scalar: &ScalarValue{Value: 3}},
				{Name: "ids", Type: Ranges, Ranges: &RangesValue{Range: []Range{rng(1, 5)}}},
			},
		},
		{"", nil},
		{"tags:{ssd, gpu}", []Attribute{{Name: "tags", Type: Set, Set: &SetValue{Item: []string{"gpu", "ssd"}}}}},
		{"t:-1.5;v:1.2.3", []Attribute{{Name: "t", Type: Scalar, Scalar: &ScalarValue{Value: -1.5}}, text("v", "1.2.3")}},
		{"url:http://x:80", []Attribute{text("url", "http://x:80")}},
		{" os : linux \n rack:r 2", []Attribute{text("os", "linux"), text("rack", "r2")}},
		{"ids:[7-9,1-5,6-6]", []Attribute{{Name: "ids", Type: Ranges, Ranges: &RangesValue{Range: []Range{rng(1, 9)}}}}},
		{"a:1;a:2", []Attribute{{Name: "a", Type: Scalar, Scalar: &ScalarValue{Value: 1}}, {Name: "a", Type: Scalar, Scalar: &ScalarValue{Value: 2}}}},
		{"nan:NaN;inf:inf", []Attribute{text("nan", "NaN"), text("inf", "inf")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAttributes(tt.in)
			if err != nil {
				t.Fatalf("ParseAttributes: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseAttributes = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseAttributesErrors(t *testing.T) {
	tests := []struct {
		in   string
		errs []string
	}{
		{"rack", []string{`attribute "rack": want name:value`}},
		{":r1", []string{`attribute ":r1": want name:value`}},
		{"rack:", []string{`attribute "rack": value is empty`}},
		{"ids:[1-", []string{`ranges "[1-": want [begin-end,...]`}},
		{"ids:[5-1]", []string{"has begin > end"}},
		{"tags:{a", []string{"want {item,...}"}},
		{"x:a[1]", []string{"brackets only open"}},
		{"ids:[x];rack", []string{`attribute "ids"`, `attribute "rack"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAttributes(tt.in)
			if err == nil {
				t.Fatalf("ParseAttributes = %v, want an error", got)
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestAttributeStringAndFlatten(t *testing.T) {
	attrs, err := ParseAttributes("rack:r1;level:3;weight:0.25;ids:[1-5,7-9];tags:{b,a}")
	if err != nil {
		t.Fatal(err)
	}
	wantStrings := []string{"r1", "3", "0.25", "[1-5, 7-9]", "{a, b}"}
	for i, a := range attrs {
		if got := a.String(); got != wantStrings[i] {
			t.Errorf("%s.String() = %q, want %q", a.Name, got, wantStrings[i])
		}
	}
	want := map[string]any{"rack": "r1", "level": 3.0, "weight": 0.25, "ids": "[1-5, 7-9]", "tags": "{a, b}"}
	if got := FlattenAttributes(attrs); !reflect.DeepEqual(got, want) {
		t.Errorf("FlattenAttributes = %v, want %v", got, want)
	}
	if got := (Attribute{Name: "x", Type: Scalar}).String(); got != "" {
		t.Errorf("String of a value-less attribute = %q, want empty", got)
	}
}
