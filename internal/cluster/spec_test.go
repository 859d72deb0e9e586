package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSpecValid(t *testing.T) {
	tests := []struct {
		file     string
		name     string
		provider string
		masters  int
		agents   int
		check    func(t *testing.T, s *Spec)
	}{
		{file: "valid-minimal.yaml", name: "marina", provider: "local", masters: 3, agents: 3},
		{file: "valid-shorthand.yaml", name: "small", provider: "local", masters: 1, agents: 2},
		{file: "valid-no-agents.yaml", name: "quorum-only", provider: "local", masters: 3, agents: 0},
		{file: "valid-full.yaml", name: "dev", provider: "local", masters: 5, agents: 3, check: func(t *testing.T, s *Spec) {
			if got := s.Provider.Settings["subnet"]; got != "127.0.5" {
				t.Errorf("subnet = %q", got)
			}
			all := s.Agents.Expand()
			if all[1].Attributes != "rack:r1;zone:a" || all[2].Resources != "cpus:1;mem:1024" {
				t.Errorf("agents = %+v", all)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := LoadSpec(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tt.name || s.Provider.Name != tt.provider || s.Masters != tt.masters || s.Agents.Count() != tt.agents {
				t.Errorf("got name=%q provider=%q masters=%d agents=%d", s.Name, s.Provider.Name, s.Masters, s.Agents.Count())
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestParseSpecInvalid checks that every invalid-*.yaml fixture fails with exactly the errors
// its "# want: file:line: path: message" header lines list.
func TestParseSpecInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for line := range strings.Lines(string(b)) {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, strings.TrimSpace(w))
				}
			}
			_, err = LoadSpec(f)
			var se SpecError
			if !errors.As(err, &se) {
				t.Fatalf("LoadSpec = %v, want a SpecError", err)
			}
			got := make([]string, len(se))
			for i, e := range se {
				got[i] = e.Error()
			}
			if len(got) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%s", len(got), len(wants), strings.Join(got, "\n"))
			}
		want:
			for _, w := range wants {
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						continue want
					}
				}
				t.Errorf("no error starts with %q; got:\n%s", w, strings.Join(got, "\n"))
			}
		})
	}
}

func TestValidateCollectsEveryError(t *testing.T) {
	s := Spec{Name: "-x", Masters: 4, Provider: ProviderSpec{Name: "local"},
		Agents: AgentGroups{{Resources: "cpus:x"}, {Count: -1, Attributes: ":"}}}
	err := s.Validate()
	var se SpecError
	if !errors.As(err, &se) {
		t.Fatalf("Validate = %v", err)
	}
	paths := map[string]bool{}
	for _, e := range se {
		paths[e.Path] = true
	}
	for _, p := range []string{"name", "masters", "agents[0].resources", "agents[1].count", "agents[1].attributes"} {
		if !paths[p] {
			t.Errorf("no error for %s in %v", p, err)
		}
	}
}

func TestNewProviderUnsupported(t *testing.T) {
	for _, name := range append(slices.Clone(plannedProviders), "vmware") {
		if _, built := providers[name]; built {
			continue
		}
		if _, err := NewProvider(name, nil); !errors.Is(err, ErrUnsupportedProvider) {
			t.Errorf("NewProvider(%q) = %v", name, err)
		}
	}
	if _, err := NewProvider("local", map[string]string{"subnet": "10.0.0"}); err == nil {
		t.Error("a non-loopback subnet was accepted")
	}
}
