package marathon

import (
	"encoding/json"
	"fmt"
)

// Container engine types.
const (
	ContainerDocker = "DOCKER" // the Docker containerizer
	ContainerMesos  = "MESOS"  // the Mesos (universal) containerizer
)

// Container describes how an app's tasks are containerized (RAML appContainer.Container).
type Container struct {
	Type         string           `json:"type,omitempty"` // DOCKER (default) or MESOS
	Docker       *DockerContainer `json:"docker,omitempty"`
	AppC         *AppCContainer   `json:"appc,omitempty"`
	LinuxInfo    *LinuxInfo       `json:"linuxInfo,omitempty"`
	Volumes      []Volume         `json:"volumes,omitzero"`
	PortMappings []PortMapping    `json:"portMappings,omitzero"`
}

// DockerContainer is the image and Docker options of a container.
type DockerContainer struct {
	Credential     *DockerCredential `json:"credential,omitempty"` // deprecated
	PullConfig     *DockerPullConfig `json:"pullConfig,omitempty"`
	ForcePullImage bool              `json:"forcePullImage"`
	Image          string            `json:"image"`
	Network        string            `json:"network,omitempty"` // deprecated: BRIDGE, HOST, NONE, USER
	Parameters     []DockerParameter `json:"parameters,omitzero"`
	PortMappings   []PortMapping     `json:"portMappings,omitzero"` // deprecated: use Container.PortMappings
	Privileged     bool              `json:"privileged"`
}

// DockerCredential authenticates with a registry (deprecated since Marathon 1.5).
type DockerCredential struct {
	Principal string `json:"principal"`
	Secret    string `json:"secret,omitempty"`
}

// DockerPullConfig names a secret holding a Docker config.json.
type DockerPullConfig struct {
	Secret string `json:"secret"`
}

// DockerParameter is an arbitrary `docker run` option.
type DockerParameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AppCContainer is an AppC image (Mesos containerizer only).
type AppCContainer struct {
	Image          string            `json:"image"`
	ID             string            `json:"id,omitempty"`
	Labels         map[string]string `json:"labels,omitzero"`
	ForcePullImage bool              `json:"forcePullImage,omitempty"`
}

// LinuxInfo holds Linux-specific container settings.
type LinuxInfo struct {
	Seccomp *Seccomp `json:"seccomp,omitempty"`
	IPCInfo *IPCInfo `json:"ipcInfo,omitempty"`
}

// Seccomp selects a seccomp profile.
type Seccomp struct {
	ProfileName string `json:"profileName,omitempty"`
	Unconfined  bool   `json:"unconfined"`
}

// IPCInfo sets the IPC namespace mode and shared memory size.
type IPCInfo struct {
	Mode    string `json:"mode"` // PRIVATE or SHARE_PARENT
	ShmSize *int   `json:"shmSize,omitempty"`
}

// PortMapping maps a container port to host and service ports (RAML ContainerPortMapping).
type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"` // nil: no host port (container networks)
	Labels        map[string]string `json:"labels,omitzero"`
	Name          string            `json:"name,omitempty"`
	Protocol      string            `json:"protocol,omitempty"` // tcp (default), udp, "udp,tcp"
	ServicePort   int               `json:"servicePort"`
	NetworkNames  []string          `json:"networkNames,omitzero"`
}

// Volume is one of four kinds, told apart by which fields are set (RAML volumes.AppVolume):
// a host volume (HostPath), a persistent local volume (Persistent), an external volume
// (External) or a secret volume (Secret).
type Volume struct {
	ContainerPath string            `json:"containerPath"`
	HostPath      string            `json:"hostPath,omitempty"`
	Persistent    *PersistentVolume `json:"persistent,omitempty"`
	External      *ExternalVolume   `json:"external,omitempty"`
	Secret        string            `json:"secret,omitempty"`
	Mode          string            `json:"mode,omitempty"` // RO or RW
}

// PersistentVolume is a local persistent volume's request (RAML PersistentVolumeInfo).
type PersistentVolume struct {
	Type        string       `json:"type,omitempty"` // root (default), path, mount
	Size        int64        `json:"size"`
	MaxSize     *int64       `json:"maxSize,omitempty"`
	ProfileName string       `json:"profileName,omitempty"`
	Constraints []Constraint `json:"constraints,omitzero"`
}

// ExternalVolume is a volume from a DVDI or CSI provider (RAML ExternalVolumeInfo).
type ExternalVolume struct {
	Size     *int64         `json:"size,omitempty"`
	Name     string         `json:"name,omitempty"`
	Provider string         `json:"provider,omitempty"`
	Options  *VolumeOptions `json:"options,omitempty"`
	Shared   *bool          `json:"shared,omitempty"`
}

// VolumeOptions are a DVDI provider's key/value options, or a CSI provider's options object.
type VolumeOptions struct {
	KV  map[string]string
	CSI *CSIVolumeOptions
}

// CSIVolumeOptions configure a CSI external volume.
type CSIVolumeOptions struct {
	PluginName        string            `json:"pluginName"`
	Capability        CSICapability     `json:"capability"`
	NodeStageSecret   map[string]string `json:"nodeStageSecret,omitzero"`
	NodePublishSecret map[string]string `json:"nodePublishSecret,omitzero"`
	VolumeContext     map[string]string `json:"volumeContext,omitzero"`
}

// CSICapability is a CSI volume's access mode and type.
type CSICapability struct {
	AccessMode string   `json:"accessMode"`
	AccessType string   `json:"accessType"`
	FSType     string   `json:"fsType,omitempty"`
	MountFlags []string `json:"mountFlags,omitzero"`
}

// MarshalJSON writes the CSI object or the key/value map.
func (o VolumeOptions) MarshalJSON() ([]byte, error) {
	if o.CSI != nil {
		return json.Marshal(o.CSI)
	}
	if o.KV == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(o.KV)
}

// UnmarshalJSON reads a CSI options object (recognised by its pluginName) or a string map.
func (o *VolumeOptions) UnmarshalJSON(b []byte) error {
	*o = VolumeOptions{}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return fmt.Errorf("volume options: %w", err)
	}
	if _, ok := probe["pluginName"]; ok {
		o.CSI = new(CSIVolumeOptions)
		if err := unmarshalKnown(b, o.CSI); err != nil {
			return fmt.Errorf("CSI volume options: %w", err)
		}
		return nil
	}
	if err := json.Unmarshal(b, &o.KV); err != nil {
		return fmt.Errorf("volume options: %w", err)
	}
	return nil
}

// portMappings returns the container's port mappings, nil without a container.
func (c *Container) portMappings() []PortMapping {
	if c == nil {
		return nil
	}
	return c.PortMappings
}

func (c *Container) validate(path string, nets []Network, secrets map[string]Secret, p *problems) {
	typ := c.Type
	if typ == "" {
		typ = ContainerDocker
	}
	switch typ {
	case ContainerDocker:
		if c.Docker == nil {
			p.add(sub(path, "docker"), "not defined")
		}
		if c.AppC != nil {
			p.add(sub(path, "appc"), "appc images need the MESOS container type")
		}
		if c.Docker != nil && c.Docker.PullConfig != nil {
			p.add(sub(sub(path, "docker"), "pullConfig"), "pullConfig is not supported with Docker containerizer")
		}
	case ContainerMesos:
		if c.Docker != nil && c.AppC != nil {
			p.add(path, "mesos containers should specify, at most, a single image type")
		}
		if d := c.Docker; d != nil {
			dp := sub(path, "docker")
			if len(d.Parameters) > 0 {
				p.add(sub(dp, "parameters"), "must be empty for the MESOS container type")
			}
			if d.PullConfig != nil && d.PullConfig.Secret != "" {
				if _, ok := secrets[d.PullConfig.Secret]; !ok {
					p.add(sub(dp, "pullConfig"), "pullConfig.secret must refer to an existing secret")
				}
			}
		}
		if a := c.AppC; a != nil {
			ap := sub(path, "appc")
			if a.Image == "" {
				p.add(sub(ap, "image"), "must not be empty")
			}
			if a.ID != "" && (len(a.ID) <= len("sha512-") || a.ID[:len("sha512-")] != "sha512-") {
				p.add(sub(ap, "id"), "id must begin with 'sha512-' and contain a non-empty digest after it")
			}
		}
	default:
		p.addf(sub(path, "type"), "must be one of %s, %s", ContainerDocker, ContainerMesos)
	}
	if d := c.Docker; d != nil {
		dp := sub(path, "docker")
		if d.Image == "" {
			p.add(sub(dp, "image"), "must not be empty")
		}
		if d.Credential != nil {
			p.add(sub(dp, "credential"), "credentials are no longer supported this way: use pullConfig")
		}
		switch d.Network {
		case "", "BRIDGE", "HOST", "NONE", "USER":
		default:
			p.add(sub(dp, "network"), "must be one of BRIDGE, HOST, NONE, USER")
		}
		for i, prm := range d.Parameters {
			if prm.Key == "" {
				p.add(sub(idx(sub(dp, "parameters"), i), "key"), "must not be empty")
			}
		}
		validatePortMappings(sub(dp, "portMappings"), d.PortMappings, nets, p)
	}
	validatePortMappings(sub(path, "portMappings"), c.PortMappings, nets, p)
	for i, v := range c.Volumes {
		v.validate(idx(sub(path, "volumes"), i), secrets, p)
	}
	names := map[string]bool{}
	for i, v := range c.Volumes {
		if v.External != nil && v.External.Name != "" {
			if names[v.External.Name] {
				p.add(idx(sub(path, "volumes"), i), "Volume names must be unique")
			}
			names[v.External.Name] = true
		}
	}
	if l := c.LinuxInfo; l != nil && l.IPCInfo != nil {
		switch l.IPCInfo.Mode {
		case "PRIVATE", "SHARE_PARENT":
		default:
			p.add(sub(sub(sub(path, "linuxInfo"), "ipcInfo"), "mode"), "must be one of PRIVATE, SHARE_PARENT")
		}
	}
}

func validatePortMappings(path string, pms []PortMapping, nets []Network, p *problems) {
	names := map[string]bool{}
	containerNets := 0
	netNames := map[string]bool{}
	for _, n := range nets {
		if n.effectiveMode() == NetworkContainer {
			containerNets++
		}
		if n.Name != "" {
			netNames[n.Name] = true
		}
	}
	for i, pm := range pms {
		pp := idx(path, i)
		checkPort(sub(pp, "containerPort"), pm.ContainerPort, p)
		if pm.HostPort != nil {
			checkPort(sub(pp, "hostPort"), *pm.HostPort, p)
		}
		checkPort(sub(pp, "servicePort"), pm.ServicePort, p)
		checkProtocol(sub(pp, "protocol"), pm.Protocol, p)
		if pm.Name != "" {
			if !legacyNameRE.MatchString(pm.Name) {
				p.add(sub(pp, "name"), "must match "+legacyNameRE.String())
			}
			if names[pm.Name] {
				p.add(path, "Port names must be unique.")
			}
			names[pm.Name] = true
		}
		if containerNets > 1 && pm.HostPort != nil && len(pm.NetworkNames) != 1 {
			p.add(pp, "networkNames must be a single item list when hostPort is specified and more than 1 container network is defined")
		}
		for j, nn := range pm.NetworkNames {
			if !netNames[nn] {
				p.addf(idx(sub(pp, "networkNames"), j), "is not one of the app's network names")
			}
		}
	}
}

func (v Volume) validate(path string, secrets map[string]Secret, p *problems) {
	kinds := 0
	for _, set := range []bool{v.HostPath != "", v.Persistent != nil, v.External != nil, v.Secret != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		p.add(path, "must be exactly one of a host, persistent, external or secret volume")
	}
	if v.ContainerPath == "" {
		p.add(sub(path, "containerPath"), "must not be empty")
	}
	switch v.Mode {
	case "RO", "RW":
	case "":
		if v.HostPath != "" || v.External != nil {
			p.add(sub(path, "mode"), "must be one of RO, RW")
		}
	default:
		p.add(sub(path, "mode"), "must be one of RO, RW")
	}
	switch {
	case v.Persistent != nil:
		v.validatePersistent(path, p)
	case v.External != nil:
		v.validateExternal(path, p)
	case v.Secret != "":
		if _, ok := secrets[v.Secret]; !ok {
			p.add(sub(path, "secret"), "volume.secret must refer to an existing secret")
		}
	}
}

func (v Volume) validatePersistent(path string, p *problems) {
	pv := v.Persistent
	pp := sub(path, "persistent")
	if v.ContainerPath == "." || v.ContainerPath == ".." {
		p.add(sub(path, "containerPath"), "can not be one of (.,..)")
	}
	if containsSlash(v.ContainerPath) {
		p.add(sub(path, "containerPath"), `value must not contain "/"`)
	}
	if v.Mode != "" && v.Mode != "RW" {
		p.add(sub(path, "mode"), "persistent volumes must be RW")
	}
	if pv.Size <= 0 {
		p.add(sub(pp, "size"), "must be greater than 0")
	}
	switch pv.Type {
	case "", "root", "path", "mount":
	default:
		p.add(sub(pp, "type"), "must be one of root, path, mount")
	}
	if pv.MaxSize != nil {
		if pv.Type != "mount" {
			p.add(pp, "Only mount volumes can have maxSize")
		}
		if *pv.MaxSize <= pv.Size {
			p.add(pp, "Max size must be larger than size")
		}
	}
	if (pv.Type == "" || pv.Type == "root") && len(pv.Constraints) > 0 {
		p.add(pp, "Constraints on root volumes are not supported")
	}
	for i, c := range pv.Constraints {
		cp := idx(sub(pp, "constraints"), i)
		if len(c) != 3 || c.Field() != "path" {
			p.add(cp, "Unsupported constraint "+joinComma(c))
			continue
		}
		if c.Operator() != OpLike && c.Operator() != OpUnlike {
			p.add(cp, "Operator must be one of LIKE, UNLIKE")
			continue
		}
		var ck problems
		c.validate(cp, &ck)
		if !ck.empty() {
			p.add(cp, "Invalid regular expression")
		}
	}
}

func (v Volume) validateExternal(path string, p *problems) {
	ev := v.External
	ep := sub(path, "external")
	if ev.Name == "" {
		p.add(sub(ep, "name"), "not defined")
	}
	if ev.Provider == "" {
		p.add(sub(ep, "provider"), "not defined")
	}
	if ev.Provider == "csi" && (ev.Options == nil || ev.Options.CSI == nil) {
		p.add(sub(ep, "options"), "CSI volumes need options with a pluginName and a capability")
	}
}

func containsSlash(s string) bool {
	for _, r := range s {
		if r == '/' {
			return true
		}
	}
	return false
}

func joinComma(c Constraint) string {
	out := ""
	for i, s := range c {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}
