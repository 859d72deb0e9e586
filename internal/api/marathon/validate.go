package marathon

import (
	"math"
	"regexp"
	"slices"
	"strings"
)

// Labels with a meaning to Marathon.
const (
	LabelSingleInstanceApp        = "MARATHON_SINGLE_INSTANCE_APP"
	LabelDcosMigrationAPIPath     = "DCOS_MIGRATION_API_PATH"
	LabelDcosMigrationAPIVersion  = "DCOS_MIGRATION_API_VERSION"
	LabelDcosPackageFrameworkName = "DCOS_PACKAGE_FRAMEWORK_NAME"
)

var executorRE = regexp.MustCompile(`^(|//cmd|/?[^/]+(/[^/]+)*)$`)

// Validate checks the app as POST /v2/apps does and returns nil when it is valid, or else every
// problem found, each with its JSON path: "/id", "/container/docker/image",
// "/healthChecks(0)/portIndex", "/constraints(1)"; "/" for rules about the app as a whole.
//
// Deprecated fields are checked as given (and for conflicts with their replacements), the rest
// on the normalized app, as Marathon does. Values not given are judged by their defaults, so an
// app that validates still validates after ApplyDefaults.
func (a *App) Validate() *ValidationError {
	var p problems
	a.validateIn("/", "/", &p)
	return p.err(MsgInvalidObject)
}

// validateIn validates the app at path (a group's "/apps(0)" or "/"), ids relative to base.
func (a *App) validateIn(path, base string, p *problems) {
	a.validateDeprecated(path, p)
	n, err := a.clone()
	if err != nil {
		p.add(path, "cannot be represented as JSON: "+err.Error())
		return
	}
	n.normalizeIn(base)
	validatePathID(sub(path, "id"), a.ID, base, false, p)
	n.validateCanonical(path, p)
}

// validateDeprecated checks the deprecated fields and their interplay with the canonical ones.
func (a *App) validateDeprecated(path string, p *problems) {
	c := a.Container
	var docker *DockerContainer
	if c != nil {
		docker = c.Docker
	}
	if docker != nil {
		dp := sub(sub(path, "container"), "docker")
		if c.Type == ContainerMesos && docker.Network != "" {
			p.add(sub(dp, "network"), "must be empty for the MESOS container type")
		}
		if c.Type == ContainerMesos && len(docker.PortMappings) > 0 {
			p.add(sub(dp, "portMappings"), "must be empty for the MESOS container type")
		}
		if len(c.PortMappings) > 0 && len(docker.PortMappings) > 0 {
			p.add(sub(path, "container"), "cannot specify both portMappings and docker.portMappings")
		}
		switch docker.Network {
		case "NONE":
			p.add(sub(dp, "network"), "unsupported docker network type NONE")
		case "", "HOST", "BRIDGE", "USER":
		default:
			p.add(sub(dp, "network"), "must be one of BRIDGE, HOST, NONE, USER")
		}
		if docker.Network != "" && len(a.Networks) > 0 {
			p.add(path, "must not specify both container.docker.network and networks")
		}
	}
	if ip := a.IPAddress; ip != nil {
		if len(a.Networks) > 0 {
			p.add(path, "must not specify both networks and ipAddress")
		}
		if len(a.Ports) > 0 || len(a.PortDefinitions) > 0 {
			p.add(path, "cannot specify both an IP address and port")
		}
		if ip.Discovery != nil && len(ip.Discovery.Ports) > 0 {
			ipp := sub(path, "ipAddress")
			switch {
			case c != nil && c.Type != ContainerMesos:
				p.add(ipp, "ipAddress/discovery is not allowed for Docker containers")
			case c != nil && len(c.PortMappings) > 0:
				p.add(ipp, "container.portMappings and ipAddress.discovery.ports must not both be set")
			}
			for i, dp := range ip.Discovery.Ports {
				pp := idx(sub(sub(ipp, "discovery"), "ports"), i)
				checkPort(sub(pp, "number"), dp.Number, p)
				if !legacyNameRE.MatchString(dp.Name) {
					p.add(sub(pp, "name"), "must match "+legacyNameRE.String())
				}
				checkProtocol(sub(pp, "protocol"), dp.Protocol, p)
			}
		}
	}
	if len(a.URIs) > 0 && len(a.Fetch) > 0 {
		p.add(sub(path, "uris"), "may not be set in conjunction with fetch")
	}
	for i, u := range a.URIs {
		if u == "" || len(u) > 1024 {
			p.add(idx(sub(path, "uris"), i), "must be between 1 and 1024 characters")
		}
	}
	seen := map[int]bool{}
	for i, port := range a.Ports {
		checkPort(idx(sub(path, "ports"), i), port, p)
		if port != 0 && seen[port] {
			p.add(sub(path, "ports"), "ports must be unique")
		}
		seen[port] = true
	}
	if len(a.Ports) > 0 && len(a.PortDefinitions) > 0 && !portsMatch(a.Ports, a.PortDefinitions) {
		p.add(path, "cannot specify both ports and port definitions")
	}
}

// validateCanonical checks a normalized app.
func (a *App) validateCanonical(path string, p *problems) {
	at := func(field string) string { return sub(path, field) }

	hasCmd := a.Cmd != nil
	hasArgs := len(a.Args) > 0
	if (hasCmd == hasArgs) && (hasCmd || !a.Container.hasImage()) {
		p.add(path, "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	}
	if a.Cmd != nil && *a.Cmd == "" {
		p.add(at("cmd"), "must not be an empty string")
	}
	if a.Instances != nil && (*a.Instances < 0 || *a.Instances > math.MaxInt32) {
		p.add(at("instances"), "must be between 0 and 2147483647")
	}
	if a.CPUs < 0 || (a.CPUs > 0 && a.CPUs < 0.001) || isBad(a.CPUs) {
		p.add(at("cpus"), "must be greater than or equal to 0.001")
	}
	nonNegative(at("mem"), a.Mem, p)
	nonNegative(at("disk"), a.Disk, p)
	if a.GPUs < 0 {
		p.add(at("gpus"), "must be greater than or equal to 0")
	}
	dockerType := a.Container != nil && a.Container.Type != ContainerMesos
	if a.GPUs > 0 && dockerType {
		p.add(path, "GPU resources only work with the Mesos containerizer")
	}
	if !executorRE.MatchString(a.Executor) {
		p.add(at("executor"), "must fully match regular expression '"+executorRE.String()+"'")
	}
	wholeSeconds(at("backoffSeconds"), a.BackoffSeconds, p)
	if f := a.BackoffFactor; f != nil && (*f < 1 || isBad(*f)) {
		p.add(at("backoffFactor"), "must be greater than or equal to 1")
	}
	wholeSeconds(at("maxLaunchDelaySeconds"), a.MaxLaunchDelaySeconds, p)
	wholeSeconds(at("taskKillGracePeriodSeconds"), a.TaskKillGracePeriodSeconds, p)

	for i, c := range a.Constraints {
		c.validate(idx(at("constraints"), i), p)
	}
	for i, f := range a.Fetch {
		if f.URI == "" || len(f.URI) > 1024 {
			p.add(sub(idx(at("fetch"), i), "uri"), "must be between 1 and 1024 characters")
		}
		if len(f.DestPath) > 1024 {
			p.add(sub(idx(at("fetch"), i), "destPath"), "must be at most 1024 characters")
		}
	}
	validateNetworks(at("networks"), a.Networks, p)
	if dockerType {
		containers := 0
		for _, n := range a.Networks {
			if n.effectiveMode() == NetworkContainer {
				containers++
			}
		}
		if containers > 1 {
			p.add(at("networks"), "may only specify a single container network when using the Docker container engine")
		}
	}
	validatePortDefinitions(at("portDefinitions"), a.PortDefinitions, p)
	if a.Container != nil {
		a.Container.validate(at("container"), a.Networks, a.Secrets, p)
	}
	a.validateChecks(path, dockerType, p)
	for i, d := range a.Dependencies {
		validatePathID(idx(at("dependencies"), i), d, "/", false, p)
	}
	a.validateEnv(path, p)
	a.validateScheduling(path, p)
}

func (a *App) validateChecks(path string, dockerType bool, p *problems) {
	ports := a.portCount()
	mesosChecks := 0
	for i, h := range a.HealthChecks {
		h.validate(idx(sub(path, "healthChecks"), i), ports, dockerType, p)
		if h.IsMesos() && h.Command == nil {
			mesosChecks++
		}
	}
	if mesosChecks > 1 {
		p.add(sub(path, "healthChecks"), "AppDefinition can contain at most one Mesos health check")
	}
	if len(a.ReadinessChecks) > 1 {
		p.add(sub(path, "readinessChecks"), "must have at most 1 element")
	}
	portNames := map[string]bool{}
	for _, n := range a.effectivePortNames() {
		portNames[n] = true
	}
	for i, r := range a.ReadinessChecks {
		r.validate(idx(sub(path, "readinessChecks"), i), portNames, p)
	}
	if a.Check != nil {
		a.Check.validate(sub(path, "check"), ports, p)
	}
}

// effectivePortNames are the port names after defaults: "default" for the default port.
func (a *App) effectivePortNames() []string {
	if a.PortDefinitions == nil && (a.Container == nil || a.Container.PortMappings == nil) {
		return []string{DefaultPortName}
	}
	return a.PortNames()
}

func (a *App) validateEnv(path string, p *problems) {
	for _, name := range sortedMapKeys(a.Env) {
		v := a.Env[name]
		ep := sub(sub(path, "env"), name)
		if name == "" {
			p.add(sub(path, "env"), "environment variable names must not be empty")
		}
		if v.IsSecret() {
			if _, ok := a.Secrets[v.Secret]; !ok {
				p.add(ep, "references an undefined secret")
			}
		}
	}
	for _, name := range sortedMapKeys(a.Secrets) {
		if name == "" {
			p.add(sub(path, "secrets"), "secret names must not be empty")
		}
		if a.Secrets[name].Source == "" {
			p.add(sub(sub(sub(path, "secrets"), name), "source"), "must not be empty")
		}
	}
}

func (a *App) validateScheduling(path string, p *problems) {
	single := a.Labels[LabelSingleInstanceApp] == "true"
	if single && a.Instances != nil && *a.Instances > 1 {
		p.add(path, "Single instance app may only have one instance")
	}
	resident := a.Resident()
	if a.UpgradeStrategy != nil {
		a.UpgradeStrategy.validate(sub(path, "upgradeStrategy"), single, resident, p)
	}
	if a.UnreachableStrategy != nil {
		a.UnreachableStrategy.validate(sub(path, "unreachableStrategy"), resident, p)
	}
	if a.Residency != nil && !resident {
		p.add(path, "App must contain persistent volumes and define residency")
	}
	switch a.KillSelection {
	case "", KillYoungestFirst, KillOldestFirst:
	default:
		p.add(sub(path, "killSelection"), "must be one of YOUNGEST_FIRST, OLDEST_FIRST")
	}
	if v, ok := a.Labels[LabelDcosMigrationAPIVersion]; ok && v != "" {
		if v != "v1" || a.Labels[LabelDcosPackageFrameworkName] == "" || a.Labels[LabelDcosMigrationAPIPath] == "" {
			p.add(path, "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION")
		}
	}
	if a.AcceptedResourceRoles != nil {
		rp := sub(path, "acceptedResourceRoles")
		if len(a.AcceptedResourceRoles) == 0 {
			p.add(rp, "must not be empty")
		}
		seen := map[string]bool{}
		for i, r := range a.AcceptedResourceRoles {
			if !validRole(r) {
				p.add(idx(rp, i), "must be a valid role name")
			}
			if seen[r] {
				p.add(rp, "must not contain duplicates")
			}
			seen[r] = true
		}
	}
	if a.Role != "" && !validRole(a.Role) {
		p.add(sub(path, "role"), "must be a valid role name")
	}
	if l := a.ResourceLimits; l != nil {
		lp := sub(path, "resourceLimits")
		if l.CPUs != nil && !l.CPUs.Unlimited && (l.CPUs.Value < effective(a.CPUs, DefaultCPUs) || isBad(l.CPUs.Value)) {
			p.add(sub(lp, "cpus"), "must be greater than or equal to cpus")
		}
		if l.Mem != nil && !l.Mem.Unlimited && (l.Mem.Value < effective(a.Mem, DefaultMem) || isBad(l.Mem.Value)) {
			p.add(sub(lp, "mem"), "must be greater than or equal to mem")
		}
	}
}

// validRole follows Mesos' rules for role names.
func validRole(r string) bool {
	if r == "" || r == "." || r == ".." || strings.HasPrefix(r, "-") {
		return false
	}
	return !strings.ContainsAny(r, " \t\n/\\\x7f")
}

// hasImage reports whether the container names an image, as "and/or a container" requires.
func (c *Container) hasImage() bool {
	if c == nil {
		return false
	}
	switch c.Type {
	case "", ContainerDocker:
		return c.Docker != nil && c.AppC == nil
	case ContainerMesos:
		return (c.Docker != nil) != (c.AppC != nil)
	}
	return false
}

func nonNegative(path string, v float64, p *problems) {
	if v < 0 || isBad(v) {
		p.add(path, "must be greater than or equal to 0")
	}
}

func wholeSeconds(path string, v *float64, p *problems) {
	if v == nil {
		return
	}
	if *v < 0 || isBad(*v) || *v > math.MaxInt32 {
		p.add(path, "must be between 0 and 2147483647")
	} else if *v != math.Trunc(*v) {
		p.add(path, "must be a whole number of seconds")
	}
}

func isBad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

func effective(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
