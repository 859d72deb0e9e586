package mesos

// TaskInfo describes a task to launch on an agent.
type TaskInfo struct {
	Name        string         `json:"name"`
	TaskID      ID             `json:"task_id"`
	AgentID     ID             `json:"agent_id"`
	Resources   Resources      `json:"resources,omitempty"`
	Executor    *ExecutorInfo  `json:"executor,omitempty"`
	Command     *CommandInfo   `json:"command,omitempty"`
	Container   *ContainerInfo `json:"container,omitempty"`
	HealthCheck *HealthCheck   `json:"health_check,omitempty"`
	KillPolicy  *KillPolicy    `json:"kill_policy,omitempty"`
	Data        []byte         `json:"data,omitempty"`
	Labels      *Labels        `json:"labels,omitempty"`
	Discovery   *DiscoveryInfo `json:"discovery,omitempty"`
}

// TaskGroupInfo is a set of tasks launched together (LAUNCH_GROUP).
type TaskGroupInfo struct {
	Tasks []TaskInfo `json:"tasks"`
}

// ExecutorInfo describes a custom or default executor.
type ExecutorInfo struct {
	Type        string       `json:"type,omitempty"`
	ExecutorID  ID           `json:"executor_id"`
	FrameworkID *ID          `json:"framework_id,omitempty"`
	Command     *CommandInfo `json:"command,omitempty"`
	Resources   Resources    `json:"resources,omitempty"`
	Name        string       `json:"name,omitempty"`
}

// CommandInfo is the command a task runs. Shell defaults to true: Value is run by /bin/sh -c.
// With Shell false, Value is the executable and Arguments its argv (argv[0] included).
type CommandInfo struct {
	URIs        []CommandURI `json:"uris,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Shell       *bool        `json:"shell,omitempty"`
	Value       *string      `json:"value,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	User        string       `json:"user,omitempty"`
}

// IsShell reports whether the command runs through the shell (the Mesos default).
func (c *CommandInfo) IsShell() bool { return c.Shell == nil || *c.Shell }

// CommandURI is a file fetched into the sandbox before the task starts.
type CommandURI struct {
	Value      string `json:"value"`
	Executable bool   `json:"executable,omitempty"`
	Extract    *bool  `json:"extract,omitempty"`
	Cache      bool   `json:"cache,omitempty"`
	OutputFile string `json:"output_file,omitempty"`
}

// Environment holds environment variables for a command.
type Environment struct {
	Variables []EnvVar `json:"variables"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Value string `json:"value,omitempty"`
}

// ContainerInfo describes the container a task runs in (MESOS or DOCKER).
type ContainerInfo struct {
	Type         string        `json:"type"`
	Volumes      []Volume      `json:"volumes,omitempty"`
	Hostname     string        `json:"hostname,omitempty"`
	Docker       *DockerInfo   `json:"docker,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
}

// Volume is a host path mounted into a container.
type Volume struct {
	ContainerPath string `json:"container_path"`
	HostPath      string `json:"host_path,omitempty"`
	Mode          string `json:"mode"`
}

// DockerInfo describes a Docker container.
type DockerInfo struct {
	Image          string        `json:"image"`
	Network        string        `json:"network,omitempty"`
	PortMappings   []PortMapping `json:"port_mappings,omitempty"`
	Privileged     bool          `json:"privileged,omitempty"`
	Parameters     []Parameter   `json:"parameters,omitempty"`
	ForcePullImage bool          `json:"force_pull_image,omitempty"`
}

// PortMapping maps a host port to a container port.
type PortMapping struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
}

// Parameter is a key/value option (docker run parameters).
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// NetworkInfo describes a network a container joins and the addresses it got.
type NetworkInfo struct {
	IPAddresses  []IPAddress   `json:"ip_addresses,omitempty"`
	Name         string        `json:"name,omitempty"`
	PortMappings []PortMapping `json:"port_mappings,omitempty"`
}

// IPAddress is one address of a container.
type IPAddress struct {
	Protocol  string `json:"protocol,omitempty"`
	IPAddress string `json:"ip_address"`
}

// HealthCheck is a check the agent runs next to the task; results come back in status updates.
type HealthCheck struct {
	DelaySeconds        *float64       `json:"delay_seconds,omitempty"`
	IntervalSeconds     *float64       `json:"interval_seconds,omitempty"`
	TimeoutSeconds      *float64       `json:"timeout_seconds,omitempty"`
	ConsecutiveFailures *uint32        `json:"consecutive_failures,omitempty"`
	GracePeriodSeconds  *float64       `json:"grace_period_seconds,omitempty"`
	Type                string         `json:"type,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	HTTP                *HTTPCheckInfo `json:"http,omitempty"`
	TCP                 *TCPCheckInfo  `json:"tcp,omitempty"`
}

// HTTPCheckInfo is an HTTP(S) health check.
type HTTPCheckInfo struct {
	Protocol string   `json:"protocol,omitempty"`
	Scheme   string   `json:"scheme,omitempty"`
	Port     uint32   `json:"port"`
	Path     string   `json:"path,omitempty"`
	Statuses []uint32 `json:"statuses,omitempty"`
}

// TCPCheckInfo is a TCP health check.
type TCPCheckInfo struct {
	Protocol string `json:"protocol,omitempty"`
	Port     uint32 `json:"port"`
}

// KillPolicy says how long a task gets between SIGTERM and SIGKILL.
type KillPolicy struct {
	GracePeriod *DurationInfo `json:"grace_period,omitempty"`
}

// DiscoveryInfo tells service discovery tools (mesos-dns) how to name a task and its ports.
type DiscoveryInfo struct {
	Visibility  string  `json:"visibility"`
	Name        string  `json:"name,omitempty"`
	Environment string  `json:"environment,omitempty"`
	Location    string  `json:"location,omitempty"`
	Version     string  `json:"version,omitempty"`
	Ports       *Ports  `json:"ports,omitempty"`
	Labels      *Labels `json:"labels,omitempty"`
}

// Ports wraps a list of named ports.
type Ports struct {
	Ports []Port `json:"ports"`
}

// Port is a named port of a task.
type Port struct {
	Number     uint32  `json:"number"`
	Name       string  `json:"name,omitempty"`
	Protocol   string  `json:"protocol,omitempty"`
	Visibility string  `json:"visibility,omitempty"`
	Labels     *Labels `json:"labels,omitempty"`
}
