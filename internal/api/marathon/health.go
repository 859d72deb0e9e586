package marathon

import "time"

// Health check protocols.
const (
	ProtocolHTTP       = "HTTP"
	ProtocolHTTPS      = "HTTPS"
	ProtocolTCP        = "TCP"
	ProtocolCommand    = "COMMAND"
	ProtocolMesosHTTP  = "MESOS_HTTP"
	ProtocolMesosHTTPS = "MESOS_HTTPS"
	ProtocolMesosTCP   = "MESOS_TCP"
)

// Health check defaults (RAML healthCheck.AppHealthCheck).
const (
	DefaultHealthGracePeriodSeconds     = 300
	DefaultHealthIntervalSeconds        = 60
	DefaultHealthTimeoutSeconds         = 20
	DefaultHealthMaxConsecutiveFailures = 3
	DefaultHealthDelaySeconds           = 15
)

// HealthCheck is an app health check (RAML healthCheck.AppHealthCheck). Numeric settings are
// pointers so that an explicit 0 (maxConsecutiveFailures 0: never kill) differs from "not given";
// ApplyDefaults fills them, and the accessor methods return the effective values either way.
type HealthCheck struct {
	Command                *HealthCommand `json:"command,omitempty"`
	GracePeriodSeconds     *int           `json:"gracePeriodSeconds,omitempty"`
	IgnoreHTTP1xx          *bool          `json:"ignoreHttp1xx,omitempty"`
	IntervalSeconds        *int           `json:"intervalSeconds,omitempty"`
	MaxConsecutiveFailures *int           `json:"maxConsecutiveFailures,omitempty"`
	Path                   string         `json:"path,omitempty"`
	Port                   *int           `json:"port,omitempty"`
	PortIndex              *int           `json:"portIndex,omitempty"`
	Protocol               string         `json:"protocol,omitempty"`   // HTTP (default)
	IPProtocol             string         `json:"ipProtocol,omitempty"` // IPv4 (default), IPv6
	TimeoutSeconds         *int           `json:"timeoutSeconds,omitempty"`
	DelaySeconds           *int           `json:"delaySeconds,omitempty"`
}

// HealthCommand is the command of a COMMAND health check.
type HealthCommand struct {
	Value string `json:"value"`
}

// EffectiveProtocol is the protocol, HTTP when not given.
func (h HealthCheck) EffectiveProtocol() string {
	if h.Protocol == "" {
		return ProtocolHTTP
	}
	return h.Protocol
}

// GracePeriod is the effective grace period.
func (h HealthCheck) GracePeriod() time.Duration {
	return seconds(h.GracePeriodSeconds, DefaultHealthGracePeriodSeconds)
}

// Interval is the effective time between checks.
func (h HealthCheck) Interval() time.Duration {
	return seconds(h.IntervalSeconds, DefaultHealthIntervalSeconds)
}

// Timeout is the effective time a check may take.
func (h HealthCheck) Timeout() time.Duration {
	return seconds(h.TimeoutSeconds, DefaultHealthTimeoutSeconds)
}

// Delay is the effective time before the first (Mesos) check.
func (h HealthCheck) Delay() time.Duration {
	return seconds(h.DelaySeconds, DefaultHealthDelaySeconds)
}

// MaxFailures is the effective number of consecutive failures that kill a task; 0 never kills.
func (h HealthCheck) MaxFailures() int {
	return intOr(h.MaxConsecutiveFailures, DefaultHealthMaxConsecutiveFailures)
}

// IsMesos reports whether Mesos (the agent) runs the check rather than Marathon.
func (h HealthCheck) IsMesos() bool {
	switch h.EffectiveProtocol() {
	case ProtocolCommand, ProtocolMesosHTTP, ProtocolMesosHTTPS, ProtocolMesosTCP:
		return true
	}
	return h.Command != nil
}

func (h HealthCheck) validate(path string, portCount int, dockerType bool, p *problems) {
	proto := h.EffectiveProtocol()
	switch proto {
	case ProtocolHTTP, ProtocolHTTPS, ProtocolTCP, ProtocolCommand,
		ProtocolMesosHTTP, ProtocolMesosHTTPS, ProtocolMesosTCP:
	default:
		p.add(sub(path, "protocol"), "must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP")
	}
	for _, f := range []struct {
		name string
		v    *int
	}{
		{"gracePeriodSeconds", h.GracePeriodSeconds}, {"intervalSeconds", h.IntervalSeconds},
		{"maxConsecutiveFailures", h.MaxConsecutiveFailures}, {"timeoutSeconds", h.TimeoutSeconds},
		{"delaySeconds", h.DelaySeconds},
	} {
		if f.v != nil && *f.v < 0 {
			p.add(sub(path, f.name), "must be greater than or equal to 0")
		}
	}
	switch h.IPProtocol {
	case "", "IPv4":
	case "IPv6":
		mesosNet := proto == ProtocolMesosHTTP || proto == ProtocolMesosHTTPS || proto == ProtocolMesosTCP
		if !(mesosNet && dockerType) {
			p.add(sub(path, "ipProtocol"), "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks")
		}
	default:
		p.add(sub(path, "ipProtocol"), "must be one of IPv4, IPv6")
	}
	if proto == ProtocolCommand {
		if h.Command == nil || h.Command.Value == "" {
			p.add(sub(path, "command"), "a COMMAND health check needs a command")
		}
	} else if h.Command != nil {
		p.add(sub(path, "command"), "only COMMAND health checks take a command")
	}
	if h.Port != nil && h.PortIndex != nil {
		p.add(path, "Only one of port and portIndex may be given")
	}
	if h.Port != nil {
		checkPort(sub(path, "port"), *h.Port, p)
	}
	if proto == ProtocolCommand {
		return
	}
	switch {
	case h.PortIndex != nil:
		if *h.PortIndex < 0 || *h.PortIndex >= portCount {
			p.add(sub(path, "portIndex"), "Health check port indices must address an element of the ports array or container port mappings.")
		}
	case h.Port == nil && portCount == 0:
		p.add(path, "Health check port indices must address an element of the ports array or container port mappings.")
	}
}

// ReadinessCheck tells when a task is ready to serve during a deployment (RAML
// readinessCheck.ReadinessCheck).
type ReadinessCheck struct {
	Name                    string `json:"name,omitempty"`     // default readinessCheck
	Protocol                string `json:"protocol,omitempty"` // HTTP (default), HTTPS
	Path                    string `json:"path,omitempty"`     // default /
	PortName                string `json:"portName,omitempty"` // default http-api
	IntervalSeconds         *int   `json:"intervalSeconds,omitempty"`
	TimeoutSeconds          *int   `json:"timeoutSeconds,omitempty"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady,omitzero"` // default [200]
	PreserveLastResponse    *bool  `json:"preserveLastResponse,omitempty"`
}

// Readiness check defaults (RAML readinessCheck.ReadinessCheck).
const (
	DefaultReadinessName            = "readinessCheck"
	DefaultReadinessPath            = "/"
	DefaultReadinessPortName        = "http-api"
	DefaultReadinessIntervalSeconds = 30
	DefaultReadinessTimeoutSeconds  = 10
)

func (r ReadinessCheck) validate(path string, portNames map[string]bool, p *problems) {
	switch r.Protocol {
	case "", ProtocolHTTP, ProtocolHTTPS:
	default:
		p.add(sub(path, "protocol"), "must be one of HTTP, HTTPS")
	}
	portName := r.PortName
	if portName == "" {
		portName = DefaultReadinessPortName
	}
	if !portNames[portName] {
		p.addf(sub(path, "portName"), "No port definition reference for portName %s", portName)
	}
	if len(r.Path) > 1024 {
		p.add(sub(path, "path"), "must be at most 1024 characters")
	}
	interval := intOr(r.IntervalSeconds, DefaultReadinessIntervalSeconds)
	timeout := intOr(r.TimeoutSeconds, DefaultReadinessTimeoutSeconds)
	if interval < 0 {
		p.add(sub(path, "intervalSeconds"), "must be greater than or equal to 0")
	}
	if timeout < 1 {
		p.add(sub(path, "timeoutSeconds"), "must be greater than or equal to 1")
	}
	if timeout >= interval {
		p.add(sub(path, "timeoutSeconds"), "must be less than intervalSeconds")
	}
	seen := map[int]bool{}
	for i, c := range r.HTTPStatusCodesForReady {
		if c < 100 || c > 999 {
			p.add(idx(sub(path, "httpStatusCodesForReady"), i), "must be between 100 and 999")
		}
		if seen[c] {
			p.add(sub(path, "httpStatusCodesForReady"), "must be unique")
		}
		seen[c] = true
	}
	if r.HTTPStatusCodesForReady != nil && len(r.HTTPStatusCodesForReady) == 0 {
		p.add(sub(path, "httpStatusCodesForReady"), "must not be empty")
	}
}

// AppCheck is a Mesos check whose result is reported, never acted on (RAML check.AppCheck).
type AppCheck struct {
	HTTP            *AppHTTPCheck `json:"http,omitempty"`
	TCP             *AppTCPCheck  `json:"tcp,omitempty"`
	Exec            *CommandCheck `json:"exec,omitempty"`
	IntervalSeconds *int          `json:"intervalSeconds,omitempty"` // default 60
	TimeoutSeconds  *int          `json:"timeoutSeconds,omitempty"`  // default 20
	DelaySeconds    *int          `json:"delaySeconds,omitempty"`    // default 15
}

// AppHTTPCheck is the HTTP variant of an AppCheck.
type AppHTTPCheck struct {
	PortIndex *int   `json:"portIndex,omitempty"`
	Port      *int   `json:"port,omitempty"`
	Path      string `json:"path,omitempty"`
	Scheme    string `json:"scheme,omitempty"` // HTTP (default), HTTPS
}

// AppTCPCheck is the TCP variant of an AppCheck.
type AppTCPCheck struct {
	PortIndex *int `json:"portIndex,omitempty"`
	Port      *int `json:"port,omitempty"`
}

// CommandCheck runs a command (RAML check.CommandCheck).
type CommandCheck struct {
	Command MesosCommand `json:"command"`
}

// MesosCommand is a shell command line or an argv vector, exactly one of them.
type MesosCommand struct {
	Shell string   `json:"shell,omitempty"`
	Argv  []string `json:"argv,omitzero"`
}

func (c AppCheck) validate(path string, portCount int, p *problems) {
	kinds := 0
	for _, set := range []bool{c.HTTP != nil, c.TCP != nil, c.Exec != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		p.add(path, "Must specify a single type of check, http, tcp, or exec")
	}
	checkPorts := func(pp string, port, portIndex *int) {
		if port != nil && portIndex != nil {
			p.add(pp, "Only one of port and portIndex may be given")
		}
		if port != nil {
			checkPort(sub(pp, "port"), *port, p)
		}
		if portIndex != nil && (*portIndex < 0 || *portIndex >= portCount) {
			p.add(sub(pp, "portIndex"), "must address an element of the ports array or container port mappings")
		}
	}
	if c.HTTP != nil {
		checkPorts(sub(path, "http"), c.HTTP.Port, c.HTTP.PortIndex)
		switch c.HTTP.Scheme {
		case "", ProtocolHTTP, ProtocolHTTPS:
		default:
			p.add(sub(sub(path, "http"), "scheme"), "must be one of HTTP, HTTPS")
		}
	}
	if c.TCP != nil {
		checkPorts(sub(path, "tcp"), c.TCP.Port, c.TCP.PortIndex)
	}
	if c.Exec != nil {
		cmd := c.Exec.Command
		if (cmd.Shell == "") == (len(cmd.Argv) == 0) {
			p.add(sub(sub(path, "exec"), "command"), "specify either shell or argv, never both")
		}
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"intervalSeconds", c.IntervalSeconds}, {"timeoutSeconds", c.TimeoutSeconds}, {"delaySeconds", c.DelaySeconds}} {
		if f.v != nil && *f.v < 0 {
			p.add(sub(path, f.name), "must be greater than or equal to 0")
		}
	}
}

func seconds(v *int, def int) time.Duration {
	return time.Duration(intOr(v, def)) * time.Second
}

func intOr(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}
