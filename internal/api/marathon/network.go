package marathon

import "regexp"

// Network modes.
const (
	NetworkHost            = "host"             // share the agent's network namespace
	NetworkContainer       = "container"        // a named container (CNI) network
	NetworkContainerBridge = "container/bridge" // Mesos' bridge network
)

var (
	legacyNameRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	networkNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`)
)

// Network is a network an app's tasks join (RAML network.Network).
type Network struct {
	Name   string            `json:"name,omitempty"`
	Mode   string            `json:"mode,omitempty"` // container (default), container/bridge, host
	Labels map[string]string `json:"labels,omitzero"`
}

func (n Network) effectiveMode() string {
	if n.Mode == "" {
		return NetworkContainer
	}
	return n.Mode
}

// PortDefinition is a host port an app's tasks need under host networking
// (RAML network.PortDefinition).
type PortDefinition struct {
	Port     int               `json:"port"`
	Labels   map[string]string `json:"labels,omitzero"`
	Name     string            `json:"name,omitempty"`
	Protocol string            `json:"protocol,omitempty"` // tcp (default), udp, "udp,tcp"
}

// IPAddress asks for an IP per task; deprecated in favour of App.Networks (Normalize migrates it).
type IPAddress struct {
	Discovery   *IPDiscovery      `json:"discovery,omitempty"`
	Groups      []string          `json:"groups,omitzero"`
	Labels      map[string]string `json:"labels,omitzero"`
	NetworkName string            `json:"networkName,omitempty"`
}

// IPDiscovery describes the ports of an IP-per-task app (deprecated).
type IPDiscovery struct {
	Ports []IPDiscoveryPort `json:"ports,omitzero"`
}

// IPDiscoveryPort is one port of an IP-per-task app (deprecated).
type IPDiscoveryPort struct {
	Number   int               `json:"number"`
	Name     string            `json:"name"`
	Protocol string            `json:"protocol,omitempty"`
	Labels   map[string]string `json:"labels,omitzero"`
}

// validateNetworks checks the networks as a list and each network.
func validateNetworks(path string, nets []Network, p *problems) {
	hosts, bridges, containers, unnamed := 0, 0, 0, 0
	names := map[string]bool{}
	for i, n := range nets {
		np := idx(path, i)
		switch n.effectiveMode() {
		case NetworkHost:
			hosts++
			if n.Name != "" || len(n.Labels) > 0 {
				p.add(path, "Host networks may not have names or labels")
			}
		case NetworkContainerBridge:
			bridges++
			if n.Name != "" {
				p.add(path, "Bridge networks may not have names")
			}
		case NetworkContainer:
			containers++
			if n.Name == "" {
				unnamed++
			}
		default:
			p.add(sub(np, "mode"), "must be one of container, container/bridge, host")
		}
		if n.Name != "" {
			if len(n.Name) > 63 || !networkNameRE.MatchString(n.Name) {
				p.add(sub(np, "name"), "must match "+networkNameRE.String()+" and be at most 63 characters")
			}
			if names[n.Name] {
				p.add(path, "Duplicate networks are not allowed")
			}
			names[n.Name] = true
		}
	}
	if unnamed > 1 {
		p.add(path, "Duplicate networks are not allowed")
	}
	ok := (hosts <= 1 && bridges == 0 && containers == 0) ||
		(hosts == 0 && bridges <= 1 && containers == 0) ||
		(hosts == 0 && bridges == 0 && containers > 0)
	if !ok {
		p.add(path, "May specify a single host network, single bridge network, or else 1-to-n container networks")
	}
}

func validatePortDefinitions(path string, defs []PortDefinition, p *problems) {
	names := map[string]bool{}
	ports := map[int]bool{}
	for i, d := range defs {
		dp := idx(path, i)
		checkPort(sub(dp, "port"), d.Port, p)
		checkProtocol(sub(dp, "protocol"), d.Protocol, p)
		if d.Name != "" {
			if !legacyNameRE.MatchString(d.Name) {
				p.add(sub(dp, "name"), "must match "+legacyNameRE.String())
			}
			if names[d.Name] {
				p.add(path, "Port names must be unique.")
			}
			names[d.Name] = true
		}
		if d.Port != 0 {
			if ports[d.Port] {
				p.add(path, "Ports must be unique.")
			}
			ports[d.Port] = true
		}
	}
}

func checkPort(path string, port int, p *problems) {
	if port < 0 || port > 65535 {
		p.add(path, "must be between 0 and 65535")
	}
}

func checkProtocol(path, proto string, p *problems) {
	switch proto {
	case "", "tcp", "udp", "udp,tcp":
	default:
		p.add(path, `must be one of tcp, udp, "udp,tcp"`)
	}
}
