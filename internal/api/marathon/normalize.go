package marathon

import "strings"

// Normalize puts the app in canonical form without adding defaults: the id becomes absolute with
// "." and ".." resolved and no trailing slash, every dependency too (a relative one is resolved
// against the app's group, so "db" is a sibling), and deprecated fields move to their
// replacements as Marathon migrates them:
//
//   - ports -> portDefinitions, uris -> fetch (archives extracted, as Marathon decides by suffix);
//   - ipAddress and container.docker.network -> networks (HOST, BRIDGE, USER);
//   - container.docker.portMappings and ipAddress.discovery.ports -> container.portMappings;
//   - a health check without port or portIndex gets portIndex 0 when the app declares ports.
//
// Where the deprecated and the canonical field conflict, both are left as they are for Validate
// to report. Normalize is idempotent.
func (a *App) Normalize() { a.normalizeIn("/") }

// normalizeIn normalizes with relative ids resolved against the group base.
func (a *App) normalizeIn(base string) {
	if a.ID != "" {
		if id, ok := CanonicalPath(a.ID, base); ok {
			a.ID = id
		}
	}
	// A relative dependency names a sibling: it is resolved against the app's group.
	depBase := base
	if strings.HasPrefix(a.ID, "/") {
		depBase = ParentPath(a.ID)
	}
	for i, d := range a.Dependencies {
		if d == "" {
			continue
		}
		if dep, ok := CanonicalPath(d, depBase); ok {
			a.Dependencies[i] = dep
		}
	}
	a.migrateURIs()
	a.migrateNetworks()
	a.migratePortMappings()
	a.migratePorts()
	a.normalizeHealthChecks()
}

func (a *App) migrateURIs() {
	switch {
	case len(a.URIs) == 0:
		a.URIs = nil
	case len(a.Fetch) == 0:
		a.Fetch = make([]Fetch, len(a.URIs))
		for i, u := range a.URIs {
			extract := isArchive(u)
			a.Fetch[i] = Fetch{URI: u, Extract: &extract}
		}
		a.URIs = nil
	}
}

// isArchive reports whether the Mesos fetcher would extract the URI, as Marathon decides it.
func isArchive(uri string) bool {
	for _, ext := range []string{".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"} {
		if strings.HasSuffix(uri, ext) {
			return true
		}
	}
	return false
}

// migrateNetworks translates ipAddress and container.docker.network into networks.
func (a *App) migrateNetworks() {
	dockerNet := ""
	if a.Container != nil && a.Container.Docker != nil {
		dockerNet = a.Container.Docker.Network
	}
	if a.IPAddress == nil && dockerNet == "" {
		return
	}
	if len(a.Networks) > 0 {
		return // mixing deprecated and canonical network APIs: Validate reports it
	}
	var labels map[string]string
	name := ""
	if a.IPAddress != nil {
		labels, name = a.IPAddress.Labels, a.IPAddress.NetworkName
	}
	var nets []Network
	switch dockerNet {
	case "HOST":
		nets = []Network{{Mode: NetworkHost}}
	case "BRIDGE":
		nets = []Network{{Mode: NetworkContainerBridge, Labels: labels}}
	case "USER", "":
		nets = []Network{{Mode: NetworkContainer, Name: name, Labels: labels}}
	default:
		return // NONE or unknown: Validate reports it
	}
	if a.IPAddress != nil {
		if a.Container == nil {
			a.Container = &Container{Type: ContainerMesos}
		}
		if !a.migrateDiscovery() {
			return
		}
		a.IPAddress = nil
	}
	a.Networks = nets
	if a.Container.Docker != nil {
		a.Container.Docker.Network = ""
	}
}

// migrateDiscovery turns ipAddress.discovery.ports into port mappings; false on a conflict.
func (a *App) migrateDiscovery() bool {
	d := a.IPAddress.Discovery
	if d == nil || len(d.Ports) == 0 {
		return true
	}
	if a.Container.Type != ContainerMesos || len(a.Container.PortMappings) > 0 {
		return false
	}
	a.migratePortMappings() // docker.portMappings first, so that a conflict shows
	if len(a.Container.PortMappings) > 0 {
		return false
	}
	pms := make([]PortMapping, len(d.Ports))
	for i, p := range d.Ports {
		pms[i] = PortMapping{ContainerPort: p.Number, Name: p.Name, Protocol: p.Protocol, Labels: p.Labels}
	}
	a.Container.PortMappings = pms
	return true
}

func (a *App) migratePortMappings() {
	c := a.Container
	if c == nil || c.Docker == nil || c.Docker.PortMappings == nil {
		return
	}
	if len(c.PortMappings) > 0 && len(c.Docker.PortMappings) > 0 {
		return // both given: Validate reports it
	}
	if len(c.PortMappings) == 0 {
		c.PortMappings = c.Docker.PortMappings
	}
	c.Docker.PortMappings = nil
}

func (a *App) migratePorts() {
	if a.Ports == nil {
		return
	}
	if a.PortDefinitions == nil {
		a.PortDefinitions = make([]PortDefinition, len(a.Ports))
		for i, p := range a.Ports {
			a.PortDefinitions[i] = PortDefinition{Port: p}
		}
		a.Ports = nil
		return
	}
	if len(a.Ports) == 0 || portsMatch(a.Ports, a.PortDefinitions) {
		a.Ports = nil
	}
}

func portsMatch(ports []int, defs []PortDefinition) bool {
	if len(ports) != len(defs) {
		return false
	}
	for i := range ports {
		if ports[i] != defs[i].Port {
			return false
		}
	}
	return true
}

func (a *App) normalizeHealthChecks() {
	if len(a.PortDefinitions) == 0 && len(a.Container.portMappings()) == 0 {
		return
	}
	for i := range a.HealthChecks {
		h := &a.HealthChecks[i]
		if h.EffectiveProtocol() != ProtocolCommand && h.Port == nil && h.PortIndex == nil {
			h.PortIndex = new(0)
		}
	}
}
