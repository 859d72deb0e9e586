package docker

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// SandboxPath is where the sandbox is mounted in every container, as Mesos mounts it.
const SandboxPath = "/mnt/mesos/sandbox"

// Labels Marina puts on every container it launches.
const (
	LabelAgentID     = "marina.agent_id"
	LabelFrameworkID = "marina.framework_id"
	LabelTaskID      = "marina.task_id"
	LabelContainerID = "marina.container_id"
)

// Resource limits, as Mesos sets them.
const (
	cpuSharesPerCPU = 1024
	minCPUShares    = 2
	cpuPeriod       = 100_000 // µs
	minCPUQuota     = 1_000   // µs, the kernel's floor
	minMemory       = 32 << 20
)

// ContainerName returns the name of a container id's Docker container.
func ContainerName(containerID string) string { return "marina-" + containerID }

// buildOptions carries the executor's settings that shape containers.
type buildOptions struct {
	allowPrivileged bool
	labels          map[string]string
}

// createSpec is a container create request, and what the executor must remember of it.
type createSpec struct {
	name    string
	config  *container.Config
	host    *container.HostConfig
	net     *network.NetworkingConfig
	netMode string // "host", "bridge", "none" or a network's name
	netName string // the USER network's name, "" otherwise
}

// buildCreate turns a task into a container create request. It reports every problem it finds,
// not only the first.
func buildCreate(spec executor.Spec, opts buildOptions) (*createSpec, error) {
	ti := &spec.Task
	ci := ti.Container
	if ci == nil || ci.Type != "DOCKER" || ci.Docker == nil {
		return nil, errors.New("task has no docker container info")
	}
	d := ci.Docker
	var errs []error
	if strings.TrimSpace(d.Image) == "" {
		errs = append(errs, errors.New("container.docker.image is empty"))
	}
	name := ContainerName(spec.ContainerID)
	cfg := &container.Config{
		Image:      d.Image,
		WorkingDir: SandboxPath,
		Labels:     map[string]string{},
	}
	host := &container.HostConfig{Privileged: d.Privileged}
	if d.Privileged && !opts.allowPrivileged {
		errs = append(errs, errors.New("privileged containers are not allowed on this agent"))
	}

	entrypoint, cmd, err := command(ti.Command)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Entrypoint, cfg.Cmd = entrypoint, cmd

	// The environment: Mesos' variables as the command executor sets them, with the sandbox
	// where the container sees it.
	inside := spec
	inside.Sandbox = SandboxPath
	cfg.Env = process.Env([]string{"MESOS_CONTAINER_NAME=" + name}, inside)

	if ti.Labels != nil {
		for _, l := range ti.Labels.Labels {
			cfg.Labels[l.Key] = l.Value
		}
	}

	limits(ti.Resources, &host.Resources)

	mounts, err := mounts(spec.Sandbox, ci.Volumes)
	if err != nil {
		errs = append(errs, err)
	}
	host.Mounts = mounts

	nw, err := networking(ci, ti.Resources)
	if err != nil {
		errs = append(errs, err)
	} else {
		host.NetworkMode = container.NetworkMode(nw.mode)
		host.PortBindings = nw.bindings
		cfg.ExposedPorts = nw.exposed
		if ci.Hostname != "" {
			if nw.mode == "host" {
				errs = append(errs, errors.New("container.hostname cannot be set with network HOST"))
			}
			cfg.Hostname = ci.Hostname
		}
	}

	if err := applyParameters(d.Parameters, cfg, host, opts.allowPrivileged); err != nil {
		errs = append(errs, err)
	}
	if nw != nil && nw.mode == "host" && cfg.Hostname != "" && ci.Hostname == "" {
		errs = append(errs, errors.New("parameter hostname cannot be used with network HOST"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	for k, v := range opts.labels {
		cfg.Labels[k] = v
	}
	cfg.Labels[LabelAgentID] = spec.AgentID
	cfg.Labels[LabelFrameworkID] = spec.FrameworkID
	cfg.Labels[LabelTaskID] = ti.TaskID.Value
	cfg.Labels[LabelContainerID] = spec.ContainerID
	cs := &createSpec{name: name, config: cfg, host: host, netMode: nw.mode, netName: nw.name}
	if nw.name != "" {
		cs.net = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{nw.name: {}}}
	}
	return cs, nil
}

// command returns the entrypoint and command of a task as Mesos' docker containerizer runs
// them: a shell command overrides the image's entrypoint with /bin/sh -c; otherwise the value
// and the arguments follow the image's entrypoint. No command keeps the image's own.
func command(c *mesos.CommandInfo) (entrypoint, cmd []string, err error) {
	if c == nil {
		return nil, nil, nil
	}
	if len(c.URIs) > 0 {
		return nil, nil, errors.New("command.uris are not supported for docker tasks")
	}
	if c.IsShell() {
		if c.Value == nil || strings.TrimSpace(*c.Value) == "" {
			return nil, nil, errors.New("a shell command needs command.value")
		}
		return []string{"/bin/sh", "-c"}, []string{*c.Value}, nil
	}
	if c.Value != nil && *c.Value != "" {
		cmd = append(cmd, *c.Value)
	}
	return nil, append(cmd, c.Arguments...), nil
}

// limits sets cpu shares and quota and a memory limit without swap from the task's resources.
func limits(rs mesos.Resources, r *container.Resources) {
	if cpus := rs.Scalar(mesos.ResourceCPUs); cpus > 0 {
		r.CPUShares = max(int64(cpus*cpuSharesPerCPU), minCPUShares)
		r.CPUPeriod = cpuPeriod
		r.CPUQuota = max(int64(cpus*cpuPeriod), minCPUQuota)
	}
	if mem := rs.Scalar(mesos.ResourceMem); mem > 0 {
		r.Memory = max(int64(mem*(1<<20)), minMemory)
		r.MemorySwap = r.Memory
	}
}

// mounts returns the sandbox's mount and the task's host path volumes. A relative host path is
// taken in the sandbox, a relative container path under the sandbox's mount, as Mesos does.
func mounts(sandbox string, vols []mesos.Volume) ([]mount.Mount, error) {
	out := []mount.Mount{{Type: mount.TypeBind, Source: sandbox, Target: SandboxPath}}
	var errs []error
	for i, v := range vols {
		at := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("container.volumes[%d]: "+format, append([]any{i}, args...)...))
		}
		if v.HostPath == "" {
			at("host_path is required (only host path volumes are supported)")
			continue
		}
		src := v.HostPath
		if !filepath.IsAbs(src) {
			if !filepath.IsLocal(src) {
				at("relative host_path %q leaves the sandbox", src)
				continue
			}
			src = filepath.Join(sandbox, src)
		}
		dst := v.ContainerPath
		switch {
		case dst == "":
			at("container_path is required")
			continue
		case !path.IsAbs(dst):
			if !filepath.IsLocal(dst) {
				at("relative container_path %q leaves the sandbox", dst)
				continue
			}
			dst = path.Join(SandboxPath, dst)
		}
		m := mount.Mount{Type: mount.TypeBind, Source: filepath.Clean(src), Target: path.Clean(dst)}
		switch strings.ToUpper(v.Mode) {
		case "RW", "":
		case "RO":
			m.ReadOnly = true
		default:
			at("mode %q is not RW or RO", v.Mode)
			continue
		}
		if m.Target == SandboxPath {
			at("container_path %s is the sandbox's", SandboxPath)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// forcePull reports whether the task asks for its image to be pulled even when present.
func forcePull(spec executor.Spec) bool {
	ci := spec.Task.Container
	return ci != nil && ci.Docker != nil && ci.Docker.ForcePullImage
}
