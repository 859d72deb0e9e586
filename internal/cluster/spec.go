package cluster

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Defaults of a spec that leaves them out.
const (
	DefaultName     = "marina"
	DefaultMasters  = 3
	DefaultAgents   = 3
	DefaultProvider = "local"
)

// Spec describes a cluster to stand up: what `marina up` reads from flags or from a YAML file.
type Spec struct {
	Name     string       `yaml:"name" json:"name"`
	Provider ProviderSpec `yaml:"provider" json:"provider"`
	// Masters is the number of master nodes: 1, 3 or 5 (an etcd quorum needs an odd number).
	Masters int `yaml:"masters" json:"masters"`
	// Agents lists groups of agents; `agents: 3` in YAML is three agents of the default shape.
	// Nil means the default (3 agents); empty means none.
	Agents AgentGroups `yaml:"agents" json:"agents"`
}

// ProviderSpec names the provider that creates the nodes and carries its settings. In YAML it is
// either a name (`provider: local`) or a mapping with name and settings.
type ProviderSpec struct {
	Name     string            `yaml:"name" json:"name"`
	Settings map[string]string `yaml:"settings,omitempty" json:"settings,omitempty"`
}

// AgentSpec is a group of identical agents.
type AgentSpec struct {
	// Count is how many agents of this shape to start; 0 means 1.
	Count int `yaml:"count,omitempty" json:"count,omitempty"`
	// Resources in the agent flag's syntax, "cpus:2;mem:2048;disk:4096;ports:[31000-31099]".
	// Empty gives each agent the default resources and a port range of its own.
	Resources string `yaml:"resources,omitempty" json:"resources,omitempty"`
	// Attributes in the agent flag's syntax, "rack:r1;zone:a".
	Attributes string `yaml:"attributes,omitempty" json:"attributes,omitempty"`
}

// AgentGroups is the list of agent groups of a spec.
type AgentGroups []AgentSpec

// Count returns the total number of agents.
func (g AgentGroups) Count() int {
	n := 0
	for _, a := range g {
		n += max(a.Count, 1)
	}
	return n
}

// Expand returns one AgentSpec (Count 1) per agent, in order.
func (g AgentGroups) Expand() []AgentSpec {
	var out []AgentSpec
	for _, a := range g {
		for range max(a.Count, 1) {
			one := a
			one.Count = 1
			out = append(out, one)
		}
	}
	return out
}

// UniformAgents returns n agents of the default shape.
func UniformAgents(n int) AgentGroups {
	if n <= 0 {
		return AgentGroups{}
	}
	return AgentGroups{{Count: n}}
}

// Default fills in what the spec leaves out.
func (s *Spec) Default() {
	if s.Name == "" {
		s.Name = DefaultName
	}
	if s.Provider.Name == "" {
		s.Provider.Name = DefaultProvider
	}
	if s.Masters == 0 {
		s.Masters = DefaultMasters
	}
	if s.Agents == nil {
		s.Agents = UniformAgents(DefaultAgents)
	}
}

// nameRE is what a cluster name may look like: it names a directory and appears in URLs.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// maxAgents bounds a spec's agents; the local provider has addresses for fewer still.
const maxAgents = 10000

// Validate checks the spec and returns every problem found, each with the path of its field, as
// a SpecError; nil when the spec is valid. Call Default first.
func (s *Spec) Validate() error {
	var errs SpecError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if !nameRE.MatchString(s.Name) {
		add("name", "%q is not a valid cluster name: use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit", s.Name)
	}
	if !nameRE.MatchString(s.Provider.Name) {
		add("provider.name", "%q is not a provider name", s.Provider.Name)
	}
	for k := range s.Provider.Settings {
		if strings.TrimSpace(k) == "" {
			add("provider.settings", "a setting has an empty name")
		}
	}
	switch s.Masters {
	case 1, 3, 5:
	default:
		add("masters", "%d masters: want 1, 3 or 5 (an etcd quorum needs an odd number)", s.Masters)
	}
	for i, a := range s.Agents {
		p := fmt.Sprintf("agents[%d]", i)
		if a.Count < 0 {
			add(p+".count", "%d is negative", a.Count)
		}
		if a.Resources != "" {
			if _, err := mesos.ParseResources(a.Resources); err != nil {
				add(p+".resources", "%s", oneLine(err))
			}
		}
		if a.Attributes != "" {
			if _, err := mesos.ParseAttributes(a.Attributes); err != nil {
				add(p+".attributes", "%s", oneLine(err))
			}
		}
	}
	if n := s.Agents.Count(); n > maxAgents {
		add("agents", "%d agents: at most %d", n, maxAgents)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// oneLine joins a multi-line (errors.Join) message with "; ".
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// FieldError is one problem of a spec: the field's path ("agents[1].resources"), and the line of
// the spec file it is on when the spec came from one.
type FieldError struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SpecError lists every problem found in a spec.
type SpecError []FieldError

func (e SpecError) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}
