package mesos

// FrameworkInfo is what a scheduler says of itself when it subscribes.
type FrameworkInfo struct {
	User            string                `json:"user"`
	Name            string                `json:"name"`
	ID              *ID                   `json:"id,omitempty"`
	FailoverTimeout *float64              `json:"failover_timeout,omitempty"`
	Checkpoint      *bool                 `json:"checkpoint,omitempty"`
	Role            string                `json:"role,omitempty"`
	Roles           []string              `json:"roles,omitempty"`
	Hostname        string                `json:"hostname,omitempty"`
	Principal       string                `json:"principal,omitempty"`
	WebuiURL        string                `json:"webui_url,omitempty"`
	Capabilities    []FrameworkCapability `json:"capabilities,omitempty"`
	Labels          *Labels               `json:"labels,omitempty"`
}

// FrameworkCapability is one capability a framework declares, such as PARTITION_AWARE.
type FrameworkCapability struct {
	Type string `json:"type"`
}

// Framework capabilities Marina acts on.
const (
	CapabilityPartitionAware = "PARTITION_AWARE"
	CapabilityMultiRole      = "MULTI_ROLE"
)

// HasCapability reports whether the framework declared the capability.
func (f *FrameworkInfo) HasCapability(c string) bool {
	for _, fc := range f.Capabilities {
		if fc.Type == c {
			return true
		}
	}
	return false
}

// EffectiveRoles returns the framework's roles: Roles for MULTI_ROLE frameworks, else Role, else "*".
func (f *FrameworkInfo) EffectiveRoles() []string {
	if len(f.Roles) > 0 {
		return f.Roles
	}
	if f.Role != "" {
		return []string{f.Role}
	}
	return []string{"*"}
}

// FailoverTimeoutSeconds returns the failover timeout, 0 when unset (as in Mesos).
func (f *FrameworkInfo) FailoverTimeoutSeconds() float64 {
	if f.FailoverTimeout == nil {
		return 0
	}
	return *f.FailoverTimeout
}
