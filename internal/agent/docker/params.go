package docker

import (
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	units "github.com/docker/go-units"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// param applies one docker run parameter to a container's configuration.
type param func(p *paramTarget, value string) error

type paramTarget struct {
	cfg             *container.Config
	host            *container.HostConfig
	allowPrivileged bool
}

// parameters is the subset of docker run parameters tasks may use (container.docker.parameters),
// by their long names; aliases maps the short ones.
var parameters = map[string]param{
	"label":       paramLabel,
	"env":         paramEnv,
	"workdir":     func(p *paramTarget, v string) error { return absPath(v, &p.cfg.WorkingDir) },
	"user":        func(p *paramTarget, v string) error { p.cfg.User = v; return nil },
	"hostname":    func(p *paramTarget, v string) error { p.cfg.Hostname = v; return nil },
	"entrypoint":  paramEntrypoint,
	"memory-swap": paramMemorySwap,
	"init":        func(p *paramTarget, v string) error { return boolPtr(v, &p.host.Init) },
	"add-host":    paramAddHost,
	"dns":         paramDNS,
	"dns-search":  func(p *paramTarget, v string) error { p.host.DNSSearch = append(p.host.DNSSearch, v); return nil },
	"dns-option":  func(p *paramTarget, v string) error { p.host.DNSOptions = append(p.host.DNSOptions, v); return nil },
	"ulimit":      paramUlimit,
	"shm-size":    paramShmSize,
	"stop-signal": func(p *paramTarget, v string) error { p.cfg.StopSignal = v; return nil },
	"read-only":   paramReadOnly,
	"tmpfs":       paramTmpfs,
	"pids-limit":  paramPidsLimit,
	"cap-drop":    func(p *paramTarget, v string) error { p.host.CapDrop = append(p.host.CapDrop, v); return nil },
	"cap-add":     paramCapAdd,
}

var aliases = map[string]string{"l": "label", "e": "env", "w": "workdir", "u": "user", "h": "hostname", "dns-opt": "dns-option"}

// refused names parameters tasks may not use, and why.
var refused = map[string]string{
	"privileged": "use container.docker.privileged",
	"net":        "use container.docker.network",
	"network":    "use container.docker.network",
	"publish":    "use container.docker.port_mappings",
	"p":          "use container.docker.port_mappings",
	"volume":     "use container.volumes",
	"v":          "use container.volumes",
	"mount":      "use container.volumes",
	"name":       "the executor names containers",
	"rm":         "the executor removes containers",
	"restart":    "the agent restarts tasks through their framework",
	"log-driver": "the executor reads the container's logs into the sandbox",
	"log-opt":    "the executor reads the container's logs into the sandbox",
	"memory":     "set the task's mem resource",
	"m":          "set the task's mem resource",
	"cpus":       "set the task's cpus resource",
	"cpu-shares": "set the task's cpus resource",
}

// SupportedParameters lists the docker run parameters tasks may use.
func SupportedParameters() []string {
	out := make([]string, 0, len(parameters))
	for k := range parameters {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// applyParameters applies a task's docker parameters in order, reporting every one refused.
func applyParameters(ps []mesos.Parameter, cfg *container.Config, host *container.HostConfig, allowPrivileged bool) error {
	t := &paramTarget{cfg: cfg, host: host, allowPrivileged: allowPrivileged}
	var errs []error
	for i, p := range ps {
		key := strings.TrimLeft(p.Key, "-")
		if a, ok := aliases[key]; ok {
			key = a
		}
		f, ok := parameters[key]
		if !ok {
			if why, ok := refused[key]; ok {
				errs = append(errs, fmt.Errorf("docker parameter %q is not allowed: %s", p.Key, why))
			} else {
				errs = append(errs, fmt.Errorf("docker parameter %q is not supported (supported: %s)",
					p.Key, strings.Join(SupportedParameters(), ", ")))
			}
			continue
		}
		if err := f(t, p.Value); err != nil {
			errs = append(errs, fmt.Errorf("docker parameters[%d] %s=%q: %w", i, key, p.Value, err))
		}
	}
	return errors.Join(errs...)
}

func paramLabel(p *paramTarget, v string) error {
	k, val, _ := strings.Cut(v, "=")
	if k == "" {
		return errors.New("want key=value")
	}
	if strings.HasPrefix(k, "marina.") {
		return errors.New("labels marina.* are reserved")
	}
	p.cfg.Labels[k] = val
	return nil
}

// paramEnv sets a variable, replacing one of the same name: it wins over the task's own.
func paramEnv(p *paramTarget, v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want NAME=value")
	}
	p.cfg.Env = slices.DeleteFunc(p.cfg.Env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
	p.cfg.Env = append(p.cfg.Env, v)
	return nil
}

// paramEntrypoint replaces the image's entrypoint with one program; "" clears it.
func paramEntrypoint(p *paramTarget, v string) error {
	if shellEntrypoint(p.cfg.Entrypoint) {
		return errors.New("conflicts with a shell command: set command.shell to false")
	}
	p.cfg.Entrypoint = []string{v}
	return nil
}

func shellEntrypoint(e []string) bool { return slices.Equal(e, []string{"/bin/sh", "-c"}) }

func paramMemorySwap(p *paramTarget, v string) error {
	if v == "-1" {
		p.host.MemorySwap = -1
		return nil
	}
	n, err := units.RAMInBytes(v)
	if err != nil {
		return err
	}
	if p.host.Memory > 0 && n < p.host.Memory {
		return fmt.Errorf("below the memory limit (%d bytes)", p.host.Memory)
	}
	p.host.MemorySwap = n
	return nil
}

func paramAddHost(p *paramTarget, v string) error {
	h, ip, ok := strings.Cut(v, ":")
	if !ok || h == "" || net.ParseIP(ip) == nil {
		return errors.New("want host:ip")
	}
	p.host.ExtraHosts = append(p.host.ExtraHosts, v)
	return nil
}

func paramDNS(p *paramTarget, v string) error {
	if net.ParseIP(v) == nil {
		return errors.New("not an IP address")
	}
	p.host.DNS = append(p.host.DNS, v)
	return nil
}

func paramUlimit(p *paramTarget, v string) error {
	u, err := units.ParseUlimit(v)
	if err != nil {
		return err
	}
	p.host.Ulimits = append(p.host.Ulimits, u)
	return nil
}

func paramShmSize(p *paramTarget, v string) error {
	n, err := units.RAMInBytes(v)
	if err != nil {
		return err
	}
	if n <= 0 {
		return errors.New("must be positive")
	}
	p.host.ShmSize = n
	return nil
}

func paramReadOnly(p *paramTarget, v string) error {
	if v == "" {
		p.host.ReadonlyRootfs = true
		return nil
	}
	b, err := strconv.ParseBool(v)
	p.host.ReadonlyRootfs = b
	return err
}

func paramTmpfs(p *paramTarget, v string) error {
	dst, opts, _ := strings.Cut(v, ":")
	if !path.IsAbs(dst) {
		return errors.New("want an absolute path[:options]")
	}
	if p.host.Tmpfs == nil {
		p.host.Tmpfs = map[string]string{}
	}
	p.host.Tmpfs[dst] = opts
	return nil
}

func paramPidsLimit(p *paramTarget, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return err
	}
	p.host.PidsLimit = &n
	return nil
}

func paramCapAdd(p *paramTarget, v string) error {
	if !p.allowPrivileged {
		return errors.New("adding capabilities is not allowed on this agent")
	}
	p.host.CapAdd = append(p.host.CapAdd, v)
	return nil
}

func absPath(v string, dst *string) error {
	if !path.IsAbs(v) {
		return errors.New("want an absolute path")
	}
	*dst = v
	return nil
}

func boolPtr(v string, dst **bool) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	*dst = &b
	return nil
}
