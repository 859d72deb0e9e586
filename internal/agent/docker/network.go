package docker

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// netConfig is how a container joins the network.
type netConfig struct {
	mode     string // HostConfig.NetworkMode
	name     string // the USER network, "" otherwise
	bindings nat.PortMap
	exposed  nat.PortSet
	mappings []mesos.PortMapping
}

// networking maps container.docker.network to Docker's network mode: HOST (Mesos' default) to
// host, BRIDGE to bridge with the port mappings published, NONE to none, USER to the network
// container.network_infos[0].name names, with its port mappings (or the docker ones) published.
// Every host port must be one the task was given.
func networking(ci *mesos.ContainerInfo, rs mesos.Resources) (*netConfig, error) {
	d := ci.Docker
	nw := &netConfig{}
	var mappings []mesos.PortMapping
	switch strings.ToUpper(d.Network) {
	case "", "HOST":
		nw.mode = "host"
		if len(d.PortMappings) > 0 {
			return nil, errors.New("container.docker.port_mappings need network BRIDGE or USER")
		}
	case "NONE":
		nw.mode = "none"
		if len(d.PortMappings) > 0 {
			return nil, errors.New("container.docker.port_mappings need network BRIDGE or USER")
		}
	case "BRIDGE":
		nw.mode = "bridge"
		mappings = d.PortMappings
	case "USER":
		if len(ci.NetworkInfos) == 0 || ci.NetworkInfos[0].Name == "" {
			return nil, errors.New("network USER needs container.network_infos[0].name")
		}
		nw.name = ci.NetworkInfos[0].Name
		nw.mode = nw.name
		mappings = ci.NetworkInfos[0].PortMappings
		if len(mappings) == 0 {
			mappings = d.PortMappings
		}
	default:
		return nil, fmt.Errorf("container.docker.network %q is not HOST, BRIDGE, NONE or USER", d.Network)
	}
	if len(mappings) == 0 {
		return nw, nil
	}
	given := process.Ports(rs)
	nw.bindings, nw.exposed = nat.PortMap{}, nat.PortSet{}
	var errs []error
	for i, m := range mappings {
		at := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("port_mappings[%d]: "+format, append([]any{i}, args...)...))
		}
		if m.ContainerPort == 0 || m.ContainerPort > 65535 {
			at("container_port %d is not a port", m.ContainerPort)
			continue
		}
		if m.HostPort == 0 || !slices.Contains(given, uint64(m.HostPort)) {
			at("host_port %d is not among the task's ports %v", m.HostPort, given)
			continue
		}
		protos, err := protocols(m.Protocol)
		if err != nil {
			at("%v", err)
			continue
		}
		for _, proto := range protos {
			p := nat.Port(strconv.FormatUint(uint64(m.ContainerPort), 10) + "/" + proto)
			nw.exposed[p] = struct{}{}
			nw.bindings[p] = append(nw.bindings[p], nat.PortBinding{HostPort: strconv.FormatUint(uint64(m.HostPort), 10)})
		}
		nw.mappings = append(nw.mappings, m)
	}
	return nw, errors.Join(errs...)
}

// protocols splits a mapping's protocol: "tcp" (the default), "udp", or both ("tcp,udp").
func protocols(s string) ([]string, error) {
	if s == "" {
		return []string{"tcp"}, nil
	}
	var out []string
	for _, p := range strings.Split(strings.ToLower(s), ",") {
		p = strings.TrimSpace(p)
		if p != "tcp" && p != "udp" {
			return nil, fmt.Errorf("protocol %q is not tcp or udp", s)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// networkInfos reports a container's addresses for its status updates: on the bridge or a USER
// network, the container's own; with the host's network, none (the agent reports its own).
func networkInfos(mode, name string, ns *container.NetworkSettings) []mesos.NetworkInfo {
	if ns == nil || mode == "host" || mode == "none" {
		return nil
	}
	ep := ns.Networks[mode]
	if ep == nil {
		return nil
	}
	ni := mesos.NetworkInfo{Name: name}
	if ep.IPAddress != "" {
		ni.IPAddresses = append(ni.IPAddresses, mesos.IPAddress{Protocol: "IPv4", IPAddress: ep.IPAddress})
	}
	if ep.GlobalIPv6Address != "" {
		ni.IPAddresses = append(ni.IPAddresses, mesos.IPAddress{Protocol: "IPv6", IPAddress: ep.GlobalIPv6Address})
	}
	if len(ni.IPAddresses) == 0 {
		return nil
	}
	return []mesos.NetworkInfo{ni}
}

// CheckHost returns the host HTTP and TCP health checks of port connect to: "" (the agent's
// loopback) when the container shares the host's network, has no address, or publishes port on
// the host (a port mapping's host port, as Marathon gives it); else the container's own address,
// where its container port answers (as Mesos, which runs such checks in the container's network
// namespace, expects).
func (c *handle) CheckHost(port uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.nets) == 0 || len(c.nets[0].IPAddresses) == 0 {
		return ""
	}
	if ci := c.spec.Task.Container; ci != nil && ci.Docker != nil {
		// Validated at launch: a mapping the container runs with.
		nw, _ := networking(ci, c.spec.Task.Resources)
		if nw != nil && slices.ContainsFunc(nw.mappings, func(m mesos.PortMapping) bool { return m.HostPort == port }) {
			return ""
		}
	}
	return c.nets[0].IPAddresses[0].IPAddress
}
