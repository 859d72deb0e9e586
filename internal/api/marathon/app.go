package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// App is a Marathon app definition (RAML app.App) plus the read-only fields GET /v2/apps adds
// (RAML app.AppInfo).
//
// Optional values whose absence differs from their zero value are pointers or nil-able slices
// and maps: nil means "not given". Slices and maps marshal with omitzero, so an empty list that
// was given ("volumes": []) survives a round trip while an absent one stays absent. CPUs and Mem
// are plain numbers: zero means "not given" (Marathon's minimum for cpus is 0.001, and a task
// without memory cannot run), and ApplyDefaults sets 1 and 128.
type App struct {
	ID   string   `json:"id"`
	Cmd  *string  `json:"cmd,omitempty"`
	Args []string `json:"args,omitzero"`
	User string   `json:"user,omitempty"`

	Env       map[string]EnvValue `json:"env,omitzero"`
	Secrets   map[string]Secret   `json:"secrets,omitzero"`
	Instances *int                `json:"instances,omitempty"`
	CPUs      float64             `json:"cpus"`
	Mem       float64             `json:"mem"`
	Disk      float64             `json:"disk"`
	GPUs      int                 `json:"gpus"`
	Executor  string              `json:"executor"`

	Constraints []Constraint `json:"constraints,omitzero"`
	URIs        []string     `json:"uris,omitzero"` // deprecated: Normalize moves them to Fetch
	Fetch       []Fetch      `json:"fetch,omitzero"`
	StoreURLs   []string     `json:"storeUrls,omitzero"` // Marathon 0.x; kept, not interpreted

	PortDefinitions []PortDefinition `json:"portDefinitions,omitzero"`
	Ports           []int            `json:"ports,omitzero"` // deprecated alias of PortDefinitions
	RequirePorts    bool             `json:"requirePorts"`

	BackoffSeconds        *float64 `json:"backoffSeconds,omitempty"`
	BackoffFactor         *float64 `json:"backoffFactor,omitempty"`
	MaxLaunchDelaySeconds *float64 `json:"maxLaunchDelaySeconds,omitempty"`

	Container       *Container       `json:"container,omitempty"`
	HealthChecks    []HealthCheck    `json:"healthChecks,omitzero"`
	ReadinessChecks []ReadinessCheck `json:"readinessChecks,omitzero"`
	Check           *AppCheck        `json:"check,omitempty"`
	Dependencies    []string         `json:"dependencies,omitzero"`
	UpgradeStrategy *UpgradeStrategy `json:"upgradeStrategy,omitempty"`

	Labels                map[string]string `json:"labels,omitzero"`
	AcceptedResourceRoles []string          `json:"acceptedResourceRoles,omitzero"`
	IPAddress             *IPAddress        `json:"ipAddress,omitempty"` // deprecated: use Networks
	Networks              []Network         `json:"networks,omitzero"`

	Version                    string               `json:"version,omitempty"`
	VersionInfo                *VersionInfo         `json:"versionInfo,omitempty"`
	KillSelection              string               `json:"killSelection,omitempty"`
	UnreachableStrategy        *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	TaskKillGracePeriodSeconds *float64             `json:"taskKillGracePeriodSeconds,omitempty"`
	Residency                  *Residency           `json:"residency,omitempty"` // deprecated, no effect
	ResourceLimits             *ResourceLimits      `json:"resourceLimits,omitempty"`
	ExecutorResources          *ExecutorResources   `json:"executorResources,omitempty"`
	TTY                        *bool                `json:"tty,omitempty"`
	Role                       string               `json:"role,omitempty"`

	// Read-only: computed by Marathon, returned by GET, rejected by DecodeApp. A nil pointer or
	// slice is "not embedded in this response"; a zero count that is embedded is &0.
	TasksStaged           *int                       `json:"tasksStaged,omitempty" marathon:"readonly"`
	TasksRunning          *int                       `json:"tasksRunning,omitempty" marathon:"readonly"`
	TasksHealthy          *int                       `json:"tasksHealthy,omitempty" marathon:"readonly"`
	TasksUnhealthy        *int                       `json:"tasksUnhealthy,omitempty" marathon:"readonly"`
	Deployments           []DeploymentRef            `json:"deployments,omitzero" marathon:"readonly"`
	ReadinessCheckResults []TaskReadinessCheckResult `json:"readinessCheckResults,omitzero" marathon:"readonly"`
	Tasks                 []Task                     `json:"tasks,omitzero" marathon:"readonly"`
	LastTaskFailure       *TaskFailure               `json:"lastTaskFailure,omitempty" marathon:"readonly"`
	TaskStats             *TaskStatsByVersion        `json:"tasksStats,omitempty" marathon:"readonly"`
}

// VersionInfo tells when an app last changed (RAML versionInfo.VersionInfo).
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

// DeploymentRef names a running deployment that affects an app.
type DeploymentRef struct {
	ID string `json:"id"`
}

// EnvValue is an environment variable's value: a plain string, or a reference to one of the
// app's secrets. JSON: "value" or {"secret": "name"}.
type EnvValue struct {
	Value  string
	Secret string // name of an entry in App.Secrets; when set, Value is unused
}

// IsSecret reports whether the variable refers to a secret.
func (e EnvValue) IsSecret() bool { return e.Secret != "" }

// MarshalJSON writes a string, or {"secret": ...} for a secret reference.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.Secret != "" {
		return json.Marshal(struct {
			Secret string `json:"secret"`
		}{e.Secret})
	}
	return json.Marshal(e.Value)
}

// UnmarshalJSON reads a string or {"secret": ...}, and nothing else.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	*e = EnvValue{}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Value)
	}
	if len(b) > 0 && b[0] == '{' {
		var ref struct {
			Secret *string `json:"secret"`
		}
		if err := unmarshalKnown(b, &ref); err != nil {
			return fmt.Errorf("env secret reference: %w", err)
		}
		if ref.Secret == nil {
			return fmt.Errorf("env secret reference: missing field \"secret\"")
		}
		e.Secret = *ref.Secret
		if e.Secret == "" {
			return fmt.Errorf("env secret reference: \"secret\" must not be empty")
		}
		return nil
	}
	return fmt.Errorf("expected a string or {\"secret\": name}, got %s", b)
}

// Secret declares a secret an app may refer to (RAML secrets.SecretDef).
type Secret struct {
	Source string `json:"source"`
}

// Fetch is an artifact the Mesos fetcher downloads into the sandbox (RAML artifact.Artifact).
type Fetch struct {
	URI        string `json:"uri"`
	Extract    *bool  `json:"extract,omitempty"`    // default true
	Executable *bool  `json:"executable,omitempty"` // default false
	Cache      *bool  `json:"cache,omitempty"`      // default false
	DestPath   string `json:"destPath,omitempty"`
}

// Residency is deprecated and has no effect; it is kept so that definitions using it decode.
type Residency struct {
	RelaunchEscalationTimeoutSeconds *int64 `json:"relaunchEscalationTimeoutSeconds,omitempty"`
	TaskLostBehavior                 string `json:"taskLostBehavior,omitempty"`
}

// ExecutorResources are the resources reserved for a custom executor.
type ExecutorResources struct {
	CPUs *float64 `json:"cpus,omitempty"`
	Mem  *float64 `json:"mem,omitempty"`
	Disk *float64 `json:"disk,omitempty"`
}

// ResourceLimits let a task use more CPU or memory than it requested.
type ResourceLimits struct {
	CPUs *ResourceLimit `json:"cpus,omitempty"`
	Mem  *ResourceLimit `json:"mem,omitempty"`
}

// ResourceLimit is a number or "unlimited".
type ResourceLimit struct {
	Unlimited bool
	Value     float64
}

// MarshalJSON writes "unlimited" or the number.
func (r ResourceLimit) MarshalJSON() ([]byte, error) {
	if r.Unlimited {
		return []byte(`"unlimited"`), nil
	}
	return json.Marshal(r.Value)
}

// UnmarshalJSON reads "unlimited" or a number.
func (r *ResourceLimit) UnmarshalJSON(b []byte) error {
	*r = ResourceLimit{}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "unlimited" {
			return fmt.Errorf("resource limit must be a number or \"unlimited\", got %q", s)
		}
		r.Unlimited = true
		return nil
	}
	if err := json.Unmarshal(b, &r.Value); err != nil {
		return fmt.Errorf("resource limit must be a number or \"unlimited\": %w", err)
	}
	return nil
}

// Resident reports whether the app uses persistent local volumes, which pin its tasks to agents.
func (a *App) Resident() bool {
	if a.Container == nil {
		return false
	}
	for _, v := range a.Container.Volumes {
		if v.Persistent != nil {
			return true
		}
	}
	return false
}

// ReadOnlyStripped returns a deep copy of the app without the fields that GET adds and a POST
// body may not carry: task counts, deployments, tasks, lastTaskFailure, tasksStats,
// readinessCheckResults, and the server-assigned version and versionInfo.
func (a *App) ReadOnlyStripped() *App {
	c := a.Clone().WithoutStatus()
	c.Version = ""
	c.VersionInfo = nil
	return c
}

// WithoutStatus returns a shallow copy of the app without the fields GET adds (task counts,
// deployments, tasks, lastTaskFailure, tasksStats, readinessCheckResults); version and
// versionInfo stay. The copy shares the app's slices, maps and pointers: encode or read it,
// never change it.
func (a *App) WithoutStatus() *App {
	c := *a
	c.TasksStaged, c.TasksRunning, c.TasksHealthy, c.TasksUnhealthy = nil, nil, nil, nil
	c.Deployments = nil
	c.ReadinessCheckResults = nil
	c.Tasks = nil
	c.LastTaskFailure = nil
	c.TaskStats = nil
	return &c
}

// Clone returns a deep copy of the app. It panics if the app holds a NaN or infinite number,
// which JSON cannot carry (no decoded app does).
func (a *App) Clone() *App {
	c, err := a.clone()
	if err != nil {
		panic(fmt.Sprintf("marathon: clone: %v", err))
	}
	return c
}

// clone deep-copies the app through JSON; every type here round-trips losslessly.
func (a *App) clone() (*App, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	var c App
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// unmarshalKnown decodes b into v, rejecting unknown fields.
func unmarshalKnown(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
