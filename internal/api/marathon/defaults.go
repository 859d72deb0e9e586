package marathon

// Defaults of an app definition (RAML app.App and the types it uses).
const (
	DefaultInstances             = 1
	DefaultCPUs                  = 1.0
	DefaultMem                   = 128.0
	DefaultBackoffSeconds        = 1.0
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 300.0
	DefaultPortName              = "default"
	DefaultProtocol              = "tcp"
)

// ApplyDefaults normalizes the app (see Normalize), then fills in every value Marathon defaults,
// so that the app marshals as Marathon's GET shows it:
//
//   - instances 1, cpus 1, mem 128, disk 0, gpus 0, executor "", requirePorts false,
//     backoffSeconds 1, backoffFactor 1.15, maxLaunchDelaySeconds 300, killSelection
//     YOUNGEST_FIRST;
//   - upgradeStrategy 1/1 (0.5/0 for resident apps), unreachableStrategy 0/0 ("disabled" for
//     resident apps);
//   - networks [{mode: host}]; a network without a mode is a container network;
//   - host networking: portDefinitions [{port 0, name "default", protocol tcp}] unless given, and
//     container port mappings dropped; other networking: a MESOS container when there is none,
//     portMappings [{containerPort 0, name "default", protocol tcp, servicePort 0}] unless given
//     (one more per extra port definition), then portDefinitions dropped and requirePorts false;
//     bridge mappings without hostPort get hostPort 0;
//   - health checks: protocol HTTP, ipProtocol IPv4, gracePeriodSeconds 300, intervalSeconds 60,
//     timeoutSeconds 20, maxConsecutiveFailures 3, delaySeconds 15, and portIndex 0 when neither
//     port nor portIndex is given and the app has a port;
//   - readiness checks: name readinessCheck, protocol HTTP, path /, portName http-api,
//     intervalSeconds 30, timeoutSeconds 10, httpStatusCodesForReady [200],
//     preserveLastResponse false;
//   - fetch: extract true, executable false, cache false; container type DOCKER; persistent
//     volumes mode RW and type root; protocols tcp.
//
// Role has no default here: it depends on the enclosing group and Marathon's configuration, so
// the services layer sets it. taskKillGracePeriodSeconds stays unset (Mesos' default applies).
// ApplyDefaults is idempotent.
func (a *App) ApplyDefaults() {
	a.Normalize()
	resident := a.Resident()

	if a.Instances == nil {
		a.Instances = new(DefaultInstances)
	}
	if a.CPUs == 0 {
		a.CPUs = DefaultCPUs
	}
	if a.Mem == 0 {
		a.Mem = DefaultMem
	}
	setFloat(&a.BackoffSeconds, DefaultBackoffSeconds)
	setFloat(&a.BackoffFactor, DefaultBackoffFactor)
	setFloat(&a.MaxLaunchDelaySeconds, DefaultMaxLaunchDelaySeconds)
	if a.KillSelection == "" {
		a.KillSelection = KillYoungestFirst
	}
	if a.UpgradeStrategy == nil {
		a.UpgradeStrategy = &UpgradeStrategy{}
	}
	if resident {
		setFloat(&a.UpgradeStrategy.MinimumHealthCapacity, 0.5)
		setFloat(&a.UpgradeStrategy.MaximumOverCapacity, 0)
		if a.Residency == nil {
			a.Residency = &Residency{}
		}
	} else {
		setFloat(&a.UpgradeStrategy.MinimumHealthCapacity, 1)
		setFloat(&a.UpgradeStrategy.MaximumOverCapacity, 1)
	}
	if a.UnreachableStrategy == nil {
		a.UnreachableStrategy = &UnreachableStrategy{Disabled: resident}
	}
	if r := a.Residency; r != nil {
		if r.RelaunchEscalationTimeoutSeconds == nil {
			r.RelaunchEscalationTimeoutSeconds = new(int64(3600))
		}
		if r.TaskLostBehavior == "" {
			r.TaskLostBehavior = "WAIT_FOREVER"
		}
	}
	if e := a.ExecutorResources; e != nil {
		setFloat(&e.CPUs, 0.1)
		setFloat(&e.Mem, 32)
		setFloat(&e.Disk, 10)
	}
	a.defaultNetworking()
	a.defaultContainer()
	for i := range a.Fetch {
		f := &a.Fetch[i]
		setBool(&f.Extract, true)
		setBool(&f.Executable, false)
		setBool(&f.Cache, false)
	}
	ports := a.portCount()
	for i := range a.HealthChecks {
		a.HealthChecks[i].applyDefaults(ports)
	}
	for i := range a.ReadinessChecks {
		a.ReadinessChecks[i].applyDefaults()
	}
	if c := a.Check; c != nil {
		setInt(&c.IntervalSeconds, 60)
		setInt(&c.TimeoutSeconds, 20)
		setInt(&c.DelaySeconds, 15)
		if c.HTTP != nil && c.HTTP.Scheme == "" {
			c.HTTP.Scheme = ProtocolHTTP
		}
	}
}

// defaultNetworking applies Marathon's network defaults and shapes ports to the networking mode.
func (a *App) defaultNetworking() {
	if len(a.Networks) == 0 {
		a.Networks = []Network{{Mode: NetworkHost}}
	}
	host, bridge := false, false
	for i := range a.Networks {
		n := &a.Networks[i]
		if n.Mode == "" {
			n.Mode = NetworkContainer
		}
		host = host || n.Mode == NetworkHost
		bridge = bridge || n.Mode == NetworkContainerBridge
	}
	if host {
		if a.Container != nil {
			a.Container.PortMappings = nil
		}
		if a.PortDefinitions == nil {
			a.PortDefinitions = []PortDefinition{{Port: 0, Name: DefaultPortName}}
		}
	} else {
		if a.Container == nil {
			a.Container = &Container{Type: ContainerMesos}
		}
		c := a.Container
		if c.PortMappings == nil {
			c.PortMappings = []PortMapping{{Name: DefaultPortName}}
		}
		for len(c.PortMappings) < len(a.PortDefinitions) {
			c.PortMappings = append(c.PortMappings, PortMapping{})
		}
		a.PortDefinitions = nil
		a.RequirePorts = false
		if bridge {
			for i := range c.PortMappings {
				if c.PortMappings[i].HostPort == nil {
					c.PortMappings[i].HostPort = new(0)
				}
			}
		}
	}
	for i := range a.PortDefinitions {
		if a.PortDefinitions[i].Protocol == "" {
			a.PortDefinitions[i].Protocol = DefaultProtocol
		}
	}
}

func (a *App) defaultContainer() {
	c := a.Container
	if c == nil {
		return
	}
	if c.Type == "" {
		c.Type = ContainerDocker
	}
	for i := range c.PortMappings {
		if c.PortMappings[i].Protocol == "" {
			c.PortMappings[i].Protocol = DefaultProtocol
		}
	}
	for i := range c.Volumes {
		v := &c.Volumes[i]
		if v.Persistent != nil {
			if v.Mode == "" {
				v.Mode = "RW"
			}
			if v.Persistent.Type == "" {
				v.Persistent.Type = "root"
			}
		}
	}
}

func (h *HealthCheck) applyDefaults(ports int) {
	if h.Protocol == "" {
		h.Protocol = ProtocolHTTP
	}
	if h.IPProtocol == "" {
		h.IPProtocol = "IPv4"
	}
	setInt(&h.GracePeriodSeconds, DefaultHealthGracePeriodSeconds)
	setInt(&h.IntervalSeconds, DefaultHealthIntervalSeconds)
	setInt(&h.TimeoutSeconds, DefaultHealthTimeoutSeconds)
	setInt(&h.MaxConsecutiveFailures, DefaultHealthMaxConsecutiveFailures)
	setInt(&h.DelaySeconds, DefaultHealthDelaySeconds)
	if h.Protocol != ProtocolCommand && h.Port == nil && h.PortIndex == nil && ports > 0 {
		h.PortIndex = new(0)
	}
}

func (r *ReadinessCheck) applyDefaults() {
	if r.Name == "" {
		r.Name = DefaultReadinessName
	}
	if r.Protocol == "" {
		r.Protocol = ProtocolHTTP
	}
	if r.Path == "" {
		r.Path = DefaultReadinessPath
	}
	if r.PortName == "" {
		r.PortName = DefaultReadinessPortName
	}
	setInt(&r.IntervalSeconds, DefaultReadinessIntervalSeconds)
	setInt(&r.TimeoutSeconds, DefaultReadinessTimeoutSeconds)
	if len(r.HTTPStatusCodesForReady) == 0 {
		r.HTTPStatusCodesForReady = []int{200}
	}
	setBool(&r.PreserveLastResponse, false)
}

// portCount is the number of ports the app's tasks get, as health checks' portIndex counts them:
// the container's port mappings when it has any, else the port definitions, defaults included.
func (a *App) portCount() int {
	if pms := a.Container.portMappings(); len(pms) > 0 {
		return len(pms)
	}
	if a.PortDefinitions != nil {
		return len(a.PortDefinitions)
	}
	if a.Ports != nil {
		return len(a.Ports)
	}
	if a.hostNetworking() {
		return 1 // the default port definition
	}
	if a.Container == nil || a.Container.PortMappings == nil {
		return 1 // the default port mapping
	}
	return 0
}

// hostNetworking reports whether the app uses host networking (the default).
func (a *App) hostNetworking() bool {
	if len(a.Networks) == 0 {
		return true
	}
	for _, n := range a.Networks {
		if n.Mode == NetworkHost {
			return true
		}
	}
	return false
}

// PortNames lists the names of the app's ports (port mappings, or else port definitions), as
// readiness checks refer to them.
func (a *App) PortNames() []string {
	var names []string
	if a.Container != nil && a.Container.PortMappings != nil {
		for _, pm := range a.Container.PortMappings {
			if pm.Name != "" {
				names = append(names, pm.Name)
			}
		}
		return names
	}
	for _, pd := range a.PortDefinitions {
		if pd.Name != "" {
			names = append(names, pd.Name)
		}
	}
	return names
}

func setFloat(p **float64, v float64) {
	if *p == nil {
		*p = new(v)
	}
}

func setInt(p **int, v int) {
	if *p == nil {
		*p = new(v)
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = new(v)
	}
}
