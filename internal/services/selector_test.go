package services

import "testing"

func TestSelector(t *testing.T) {
	labels := map[string]string{"env": "prod", "tier": "front end", "a,b": "x"}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"env", true},
		{"missing", false},
		{"env==prod", true},
		{"env==dev", false},
		{"env!=dev", true},
		{"env!=prod", false},
		{"env in (dev, prod)", true},
		{"env notin (dev, prod)", false},
		{"env, tier", true},
		{"env==prod, tier==front end", true},
		{`a\,b==x`, true},
		{"env in (dev, stage), tier", false},
		{`env\(, tier`, false},
	}
	for _, tt := range tests {
		s, err := parseSelector(tt.sel)
		if err != nil {
			t.Errorf("parseSelector(%q): %v", tt.sel, err)
			continue
		}
		if got := s.matches(labels); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.sel, got, tt.want)
		}
	}
	for _, bad := range []string{"env in dev", "a,,b", "bad(", "env in (a, b", "a)", "==x"} {
		if _, err := parseSelector(bad); err == nil {
			t.Errorf("parseSelector(%q) accepted", bad)
		}
	}
}

func FuzzSelector(f *testing.F) {
	for _, s := range []string{"env", "a==b", "a in (b, c)", `x\,y!=z`, "k notin (v)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := parseSelector(s)
		if err == nil {
			sel.matches(map[string]string{"a": "b"})
		}
	})
}
