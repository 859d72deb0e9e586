package services

import (
	"crypto/rand"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newTaskID returns a task id in Marathon's format: the app id without its leading slash, "/"
// replaced by "_", a dot and a UUID.
func newTaskID(appID string) string {
	return strings.ReplaceAll(strings.TrimPrefix(appID, "/"), "/", "_") + "." + newUUID()
}

// appIDOfTask returns the app id a task id names ("prod_web.<uuid>" is "/prod/web"). Ids with
// "_" in a segment come back with "/" there: the task id does not tell them apart.
func appIDOfTask(taskID string) string {
	i := strings.LastIndex(taskID, ".")
	if i < 0 {
		return ""
	}
	return "/" + strings.ReplaceAll(taskID[:i], "_", "/")
}

// hostname returns an app id as a DNS-style name, as Marathon names tasks: its path segments
// reversed and joined by dots ("/prod/web" is "web.prod").
func hostname(appID string) string {
	segs := strings.Split(strings.Trim(appID, "/"), "/")
	slices.Reverse(segs)
	return strings.Join(segs, ".")
}

// demandOf returns what one instance of an app needs from an offer.
func demandOf(s *marathon.App) demand {
	d := demand{Role: appRole(s), CPUs: s.CPUs, Mem: s.Mem, Disk: s.Disk, GPUs: float64(s.GPUs), RequirePorts: s.RequirePorts}
	for _, pd := range hostPorts(s) {
		d.Ports = append(d.Ports, pd.Port)
	}
	for _, c := range s.Constraints {
		d.Constraints = append(d.Constraints, []string(c))
	}
	if dockerImage(s) {
		// Agents whose Docker Engine answers advertise it; others would fail the task.
		d.Constraints = append(d.Constraints, dockerConstraint)
	}
	return d
}

// dockerConstraint keeps docker tasks on agents that run a docker executor.
var dockerConstraint = []string{"docker", "IS", "true"}

// portSpec is one host port an instance needs.
type portSpec struct {
	Port     int // requested: a service port, or the host port itself with requirePorts
	Name     string
	Protocol string
	Labels   map[string]string
}

// hostPorts lists the host ports an app's instances need: its port definitions under host
// networking, else the port mappings that ask for a host port.
func hostPorts(s *marathon.App) []portSpec {
	var out []portSpec
	if s.Container != nil && len(s.Container.PortMappings) > 0 {
		for _, pm := range s.Container.PortMappings {
			if pm.HostPort == nil {
				continue
			}
			out = append(out, portSpec{Port: *pm.HostPort, Name: pm.Name, Protocol: pm.Protocol, Labels: pm.Labels})
		}
		return out
	}
	for _, pd := range s.PortDefinitions {
		out = append(out, portSpec{Port: pd.Port, Name: pd.Name, Protocol: pd.Protocol, Labels: pd.Labels})
	}
	return out
}

// indexedPort returns the port that port index i of an app names on an instance, as Marathon
// resolves a health check's portIndex: with port mappings, the host port given to mapping i when
// it asks for one, else its container port (which the agent checks at the container's address);
// otherwise the host port given to port definition i. 0 when there is no such port.
func indexedPort(s *marathon.App, in *instance, i int) int {
	if s.Container == nil || len(s.Container.PortMappings) == 0 {
		if i < 0 || i >= len(in.Ports) {
			return 0
		}
		return in.Ports[i]
	}
	pms := s.Container.PortMappings
	if i < 0 || i >= len(pms) {
		return 0
	}
	if pms[i].HostPort == nil {
		return pms[i].ContainerPort
	}
	k := 0 // the host ports handed out belong to the mappings that ask for one, in order
	for _, pm := range pms[:i] {
		if pm.HostPort != nil {
			k++
		}
	}
	if k >= len(in.Ports) {
		return 0
	}
	return in.Ports[k]
}

// portIndex returns the index of an app's port named name: of its port mappings when it has
// some, else of its port definitions; -1 when none has that name.
func portIndex(s *marathon.App, name string) int {
	if s.Container != nil && len(s.Container.PortMappings) > 0 {
		return slices.IndexFunc(s.Container.PortMappings, func(pm marathon.PortMapping) bool { return pm.Name == name })
	}
	return slices.IndexFunc(s.PortDefinitions, func(pd marathon.PortDefinition) bool { return pd.Name == name })
}

// endpoint returns where port index i of an app is reached on an instance: on its agent's host
// at the host port it got, or, for a port mapping without a host port, at the container's
// address on the container port. host is "" when it is not known (yet).
func endpoint(s *marathon.App, in *instance, i int) (host string, port int) {
	port = indexedPort(s, in, i)
	if port == 0 {
		return "", 0
	}
	if s.Container != nil && i < len(s.Container.PortMappings) && s.Container.PortMappings[i].HostPort == nil {
		if len(in.IPAddresses) == 0 {
			return "", 0
		}
		return in.IPAddresses[0].IPAddress, port
	}
	return in.Host, port
}

// servicePorts returns an app's service ports, as tasks show them.
func servicePorts(s *marathon.App) []int {
	out := []int{}
	if s.Container != nil && len(s.Container.PortMappings) > 0 {
		for _, pm := range s.Container.PortMappings {
			out = append(out, pm.ServicePort)
		}
		return out
	}
	for _, pd := range s.PortDefinitions {
		out = append(out, pd.Port)
	}
	return out
}

// buildTask returns the TaskInfo of an instance placed on an offer; its resources carry the
// offer's allocation role, the instance's.
func buildTask(s *marathon.App, in *instance, o mesos.Offer) mesos.TaskInfo {
	res := mesos.Resources{mesos.ScalarResource("cpus", s.CPUs), mesos.ScalarResource("mem", s.Mem)}
	if s.Disk > 0 {
		res = append(res, mesos.ScalarResource("disk", s.Disk))
	}
	if s.GPUs > 0 {
		res = append(res, mesos.ScalarResource("gpus", float64(s.GPUs)))
	}
	if len(in.Ports) > 0 {
		rs := make([]mesos.Range, len(in.Ports))
		for i, p := range in.Ports {
			rs[i] = mesos.Range{Begin: uint64(p), End: uint64(p)}
		}
		res = append(res, mesos.RangesResource("ports", rs...))
	}
	name := hostname(s.ID)
	ti := mesos.TaskInfo{
		Name:      name,
		TaskID:    mesos.ID{Value: in.TaskID},
		AgentID:   o.AgentID,
		Resources: res.WithAllocationRole(in.role()),
		Command:   command(s, in),
		Discovery: discovery(s, in, name),
	}
	if len(s.Labels) > 0 {
		ti.Labels = &mesos.Labels{}
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			ti.Labels.Labels = append(ti.Labels.Labels, mesos.Label{Key: k, Value: s.Labels[k]})
		}
	}
	if s.TaskKillGracePeriodSeconds != nil {
		ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(*s.TaskKillGracePeriodSeconds * 1e9)}}
	}
	if c := container(s, in); c != nil {
		ti.Container = c
	}
	ti.HealthCheck = healthCheck(s, in)
	return ti
}

// healthCheck returns the first health check of an app as the agent runs it (Mesos runs one per
// task), or nil. HTTP and TCP checks, which Marathon itself runs, are run by the agent as well.
func healthCheck(s *marathon.App, in *instance) *mesos.HealthCheck {
	if len(s.HealthChecks) == 0 {
		return nil
	}
	h := s.HealthChecks[0]
	failures := uint32(h.MaxFailures())
	if failures == 0 {
		failures = math.MaxUint32 // Marathon's 0: never kill
	}
	delay := h.Delay().Seconds()
	if !h.IsMesos() && h.DelaySeconds == nil {
		// Marathon runs its own HTTP, HTTPS and TCP checks from the start (only the grace period
		// forgives early failures); delaySeconds belongs to the Mesos checks.
		delay = 0
	}
	hc := &mesos.HealthCheck{
		DelaySeconds:        new(delay),
		IntervalSeconds:     new(h.Interval().Seconds()),
		TimeoutSeconds:      new(h.Timeout().Seconds()),
		ConsecutiveFailures: new(failures),
		GracePeriodSeconds:  new(h.GracePeriod().Seconds()),
	}
	port := 0
	switch {
	case h.Port != nil:
		port = *h.Port
	case h.PortIndex != nil:
		port = indexedPort(s, in, *h.PortIndex)
	}
	switch h.EffectiveProtocol() {
	case marathon.ProtocolCommand:
		if h.Command == nil {
			return nil
		}
		hc.Type = "COMMAND"
		hc.Command = &mesos.CommandInfo{Shell: new(true), Value: new(h.Command.Value)}
	case marathon.ProtocolTCP, marathon.ProtocolMesosTCP:
		hc.Type = "TCP"
		hc.TCP = &mesos.TCPCheckInfo{Port: uint32(port)}
	default:
		scheme := "http"
		if p := h.EffectiveProtocol(); p == marathon.ProtocolHTTPS || p == marathon.ProtocolMesosHTTPS {
			scheme = "https"
		}
		hc.Type = "HTTP"
		hc.HTTP = &mesos.HTTPCheckInfo{Scheme: scheme, Port: uint32(port), Path: h.Path}
	}
	return hc
}

// command returns the command of a task: cmd through the shell, or args as argv.
func command(s *marathon.App, in *instance) *mesos.CommandInfo {
	c := &mesos.CommandInfo{Environment: &mesos.Environment{Variables: env(s, in)}}
	if s.User != "" {
		c.User = s.User
	}
	switch {
	case s.Cmd != nil:
		c.Shell = new(true)
		c.Value = s.Cmd
	case len(s.Args) > 0:
		c.Shell = new(false)
		if !dockerImage(s) {
			c.Value = new(s.Args[0])
		}
		c.Arguments = slices.Clone(s.Args)
	default:
		c.Shell = new(false)
	}
	for _, f := range s.Fetch {
		u := mesos.CommandURI{Value: f.URI, Extract: f.Extract, OutputFile: f.DestPath}
		if f.Executable != nil {
			u.Executable = *f.Executable
		}
		if f.Cache != nil {
			u.Cache = *f.Cache
		}
		c.URIs = append(c.URIs, u)
	}
	return c
}

func dockerImage(s *marathon.App) bool {
	return s.Container != nil && s.Container.Docker != nil && s.Container.Docker.Image != ""
}

// env returns a task's environment as Marathon sets it: the ports (PORT0.., PORT, PORTS,
// PORT_<NAME>, PORT_<requested port>), HOST, MARATHON_APP_* and the app's labels, then the app's
// own variables, which win.
func env(s *marathon.App, in *instance) []mesos.EnvVar {
	vars := map[string]string{}
	ports := hostPorts(s)
	strs := make([]string, len(in.Ports))
	for i, p := range in.Ports {
		v := strconv.Itoa(p)
		strs[i] = v
		vars["PORT"+strconv.Itoa(i)] = v
		if i < len(ports) {
			if ports[i].Port != 0 {
				vars["PORT_"+strconv.Itoa(ports[i].Port)] = v
			}
			if ports[i].Name != "" {
				vars["PORT_"+envName(ports[i].Name)] = v
			}
		}
	}
	if len(strs) > 0 {
		vars["PORT"] = strs[0]
		vars["PORTS"] = strings.Join(strs, ",")
	}
	vars["HOST"] = in.Host
	vars["MARATHON_APP_ID"] = s.ID
	vars["MARATHON_APP_VERSION"] = s.Version
	vars["MARATHON_APP_RESOURCE_CPUS"] = strconv.FormatFloat(s.CPUs, 'f', -1, 64)
	vars["MARATHON_APP_RESOURCE_MEM"] = strconv.FormatFloat(s.Mem, 'f', -1, 64)
	vars["MARATHON_APP_RESOURCE_DISK"] = strconv.FormatFloat(s.Disk, 'f', -1, 64)
	vars["MARATHON_APP_RESOURCE_GPUS"] = strconv.Itoa(s.GPUs)
	if dockerImage(s) {
		vars["MARATHON_APP_DOCKER_IMAGE"] = s.Container.Docker.Image
	}
	var labelNames []string
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		v := s.Labels[k]
		// Marathon leaves out labels too large for the environment.
		if len(k)+len(v) > 512 {
			continue
		}
		n := envName(k)
		labelNames = append(labelNames, n)
		vars["MARATHON_APP_LABEL_"+n] = v
	}
	vars["MARATHON_APP_LABELS"] = strings.Join(labelNames, " ")
	for k, v := range s.Env {
		if !v.IsSecret() {
			vars[k] = v.Value
		}
	}
	out := make([]mesos.EnvVar, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, mesos.EnvVar{Name: k, Value: vars[k]})
	}
	return out
}

// envName makes a label or port name an environment variable name: upper case, with every
// character other than letters, digits and '_' replaced by '_'.
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// discovery returns the task's discovery info: its name and named ports, as mesos-dns reads it.
func discovery(s *marathon.App, in *instance, name string) *mesos.DiscoveryInfo {
	d := &mesos.DiscoveryInfo{Visibility: "FRAMEWORK", Name: name}
	ports := hostPorts(s)
	if len(in.Ports) > 0 {
		d.Ports = &mesos.Ports{Ports: []mesos.Port{}}
	}
	for i, p := range in.Ports {
		port := mesos.Port{Number: uint32(p), Protocol: "tcp"}
		if i < len(ports) {
			port.Name = ports[i].Name
			if ports[i].Protocol != "" {
				port.Protocol = ports[i].Protocol
			}
			if len(ports[i].Labels) > 0 {
				port.Labels = &mesos.Labels{}
				for _, k := range slices.Sorted(maps.Keys(ports[i].Labels)) {
					port.Labels.Labels = append(port.Labels.Labels, mesos.Label{Key: k, Value: ports[i].Labels[k]})
				}
			}
		}
		d.Ports.Ports = append(d.Ports.Ports, port)
	}
	return d
}

// container returns the ContainerInfo of a Docker app (nil for a plain command).
func container(s *marathon.App, in *instance) *mesos.ContainerInfo {
	if !dockerImage(s) {
		return nil
	}
	dc := s.Container.Docker
	c := &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{
		Image:          dc.Image,
		Network:        "HOST",
		Privileged:     dc.Privileged,
		ForcePullImage: dc.ForcePullImage,
	}}
	for _, p := range dc.Parameters {
		c.Docker.Parameters = append(c.Docker.Parameters, mesos.Parameter{Key: p.Key, Value: p.Value})
	}
	bridge := false
	for _, n := range s.Networks {
		if n.Mode == marathon.NetworkContainerBridge {
			bridge = true
		}
	}
	if bridge {
		c.Docker.Network = "BRIDGE"
		k := 0
		for _, pm := range s.Container.PortMappings {
			if pm.HostPort == nil || k >= len(in.Ports) {
				continue
			}
			proto := pm.Protocol
			if proto == "" {
				proto = "tcp"
			}
			c.Docker.PortMappings = append(c.Docker.PortMappings, mesos.PortMapping{HostPort: uint32(in.Ports[k]), ContainerPort: uint32(pm.ContainerPort), Protocol: proto})
			k++
		}
	}
	for _, v := range s.Container.Volumes {
		if v.HostPath == "" {
			continue
		}
		mode := v.Mode
		if mode == "" {
			mode = "RW"
		}
		c.Volumes = append(c.Volumes, mesos.Volume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: mode})
	}
	return c
}
