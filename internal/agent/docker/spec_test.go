package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

func str(s string) *string { return &s }

func testSpec(mod func(ti *mesos.TaskInfo)) executor.Spec {
	ti := mesos.TaskInfo{
		Name:   "web",
		TaskID: mesos.ID{Value: "web.1"},
		Resources: mesos.Resources{
			mesos.ScalarResource(mesos.ResourceCPUs, 0.5),
			mesos.ScalarResource(mesos.ResourceMem, 128),
			mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: 31000, End: 31001}),
		},
		Command:   &mesos.CommandInfo{Value: str("./run.sh")},
		Container: &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "nginx:1"}},
		Labels:    &mesos.Labels{Labels: []mesos.Label{{Key: "team", Value: "web"}, {Key: LabelAgentID, Value: "spoofed"}}},
	}
	if mod != nil {
		mod(&ti)
	}
	return executor.Spec{ContainerID: "c1", FrameworkID: "fw", AgentID: "ag", Hostname: "h1",
		Task: ti, Sandbox: "/var/lib/marina/sandboxes/fw/web.1", StateDir: "/tmp/state"}
}

func env(t *testing.T, cs *createSpec, name string) string {
	t.Helper()
	for _, kv := range cs.config.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return "<unset>"
}

func TestBuildCreateDefaults(t *testing.T) {
	cs, err := buildCreate(testSpec(nil), buildOptions{labels: map[string]string{"site": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	c, h := cs.config, cs.host
	if cs.name != "marina-c1" || c.Image != "nginx:1" || c.WorkingDir != SandboxPath {
		t.Fatalf("name %q image %q workdir %q", cs.name, c.Image, c.WorkingDir)
	}
	if !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c"}) || !slices.Equal(c.Cmd, []string{"./run.sh"}) {
		t.Fatalf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	for k, want := range map[string]string{"MESOS_SANDBOX": SandboxPath, "MESOS_TASK_ID": "web.1", "MESOS_FRAMEWORK_ID": "fw",
		"MESOS_AGENT_ID": "ag", "HOST": "h1", "PORT0": "31000", "PORT1": "31001", "MESOS_CONTAINER_NAME": "marina-c1"} {
		if got := env(t, cs, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	wantLabels := map[string]string{"team": "web", "site": "a", LabelAgentID: "ag", LabelFrameworkID: "fw", LabelTaskID: "web.1", LabelContainerID: "c1"}
	for k, v := range wantLabels {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if h.NetworkMode != "host" || h.Privileged {
		t.Fatalf("network %q privileged %v", h.NetworkMode, h.Privileged)
	}
	if h.CPUShares != 512 || h.CPUPeriod != 100000 || h.CPUQuota != 50000 || h.Memory != 128<<20 || h.MemorySwap != 128<<20 {
		t.Fatalf("resources %+v", h.Resources)
	}
	if len(h.Mounts) != 1 || h.Mounts[0] != (mount.Mount{Type: mount.TypeBind, Source: "/var/lib/marina/sandboxes/fw/web.1", Target: SandboxPath}) {
		t.Fatalf("mounts %+v", h.Mounts)
	}
}

func TestCommand(t *testing.T) {
	f := false
	for _, tc := range []struct {
		name           string
		cmd            *mesos.CommandInfo
		entrypoint, as []string
		err            string
	}{
		{name: "none keeps the image's", cmd: nil},
		{name: "shell", cmd: &mesos.CommandInfo{Value: str("echo $HOME")}, entrypoint: []string{"/bin/sh", "-c"}, as: []string{"echo $HOME"}},
		{name: "shell without value", cmd: &mesos.CommandInfo{}, err: "needs command.value"},
		{name: "arguments follow the entrypoint", cmd: &mesos.CommandInfo{Shell: &f, Arguments: []string{"-p", "80"}}, as: []string{"-p", "80"}},
		{name: "value then arguments", cmd: &mesos.CommandInfo{Shell: &f, Value: str("serve"), Arguments: []string{"-v"}}, as: []string{"serve", "-v"}},
		{name: "uris", cmd: &mesos.CommandInfo{Value: str("x"), URIs: []mesos.CommandURI{{Value: "http://x/y"}}}, err: "uris"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, c, err := command(tc.cmd)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(e, tc.entrypoint) || !slices.Equal(c, tc.as) {
				t.Fatalf("entrypoint %q cmd %q err %v", e, c, err)
			}
		})
	}
}

func TestBuildCreateNetworks(t *testing.T) {
	bridge := func(ti *mesos.TaskInfo) {
		ti.Container.Docker.Network = "BRIDGE"
		ti.Container.Docker.PortMappings = []mesos.PortMapping{{HostPort: 31000, ContainerPort: 80}, {HostPort: 31001, ContainerPort: 53, Protocol: "udp,tcp"}}
	}
	cs, err := buildCreate(testSpec(bridge), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.host.NetworkMode != "bridge" || cs.netName != "" {
		t.Fatalf("mode %q name %q", cs.host.NetworkMode, cs.netName)
	}
	wantBindings := nat.PortMap{
		"80/tcp": {{HostPort: "31000"}},
		"53/udp": {{HostPort: "31001"}},
		"53/tcp": {{HostPort: "31001"}},
	}
	if len(cs.host.PortBindings) != len(wantBindings) || len(cs.config.ExposedPorts) != 3 {
		t.Fatalf("bindings %v exposed %v", cs.host.PortBindings, cs.config.ExposedPorts)
	}
	for p, b := range wantBindings {
		if !slices.Equal(cs.host.PortBindings[p], b) {
			t.Fatalf("binding %s = %v, want %v", p, cs.host.PortBindings[p], b)
		}
	}

	user := func(ti *mesos.TaskInfo) {
		ti.Container.Docker.Network = "USER"
		ti.Container.NetworkInfos = []mesos.NetworkInfo{{Name: "apps", PortMappings: []mesos.PortMapping{{HostPort: 31001, ContainerPort: 8080}}}}
		ti.Container.Hostname = "web"
	}
	cs, err = buildCreate(testSpec(user), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.host.NetworkMode != "apps" || cs.netName != "apps" || cs.net == nil || cs.net.EndpointsConfig["apps"] == nil || cs.config.Hostname != "web" {
		t.Fatalf("mode %q name %q net %+v hostname %q", cs.host.NetworkMode, cs.netName, cs.net, cs.config.Hostname)
	}
	if got := cs.host.PortBindings["8080/tcp"]; len(got) != 1 || got[0].HostPort != "31001" {
		t.Fatalf("bindings %v", cs.host.PortBindings)
	}
}

func TestBuildCreateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(ti *mesos.TaskInfo)
		opts buildOptions
		want []string
	}{
		{name: "privileged", mod: func(ti *mesos.TaskInfo) { ti.Container.Docker.Privileged = true }, want: []string{"privileged containers are not allowed"}},
		{name: "no image", mod: func(ti *mesos.TaskInfo) { ti.Container.Docker.Image = " " }, want: []string{"image is empty"}},
		{name: "not docker", mod: func(ti *mesos.TaskInfo) { ti.Container.Type = "MESOS" }, want: []string{"no docker container info"}},
		{name: "unknown network", mod: func(ti *mesos.TaskInfo) { ti.Container.Docker.Network = "OVERLAY" }, want: []string{`"OVERLAY" is not HOST`}},
		{name: "mappings on host", mod: func(ti *mesos.TaskInfo) {
			ti.Container.Docker.PortMappings = []mesos.PortMapping{{HostPort: 31000, ContainerPort: 80}}
		}, want: []string{"need network BRIDGE or USER"}},
		{name: "USER without a name", mod: func(ti *mesos.TaskInfo) { ti.Container.Docker.Network = "USER" }, want: []string{"network_infos[0].name"}},
		{name: "ports not given", mod: func(ti *mesos.TaskInfo) {
			ti.Container.Docker.Network = "BRIDGE"
			ti.Container.Docker.PortMappings = []mesos.PortMapping{{HostPort: 8080, ContainerPort: 80}, {HostPort: 31000, ContainerPort: 0}, {HostPort: 31001, ContainerPort: 1, Protocol: "sctp"}}
		}, want: []string{"port_mappings[0]: host_port 8080 is not among the task's ports", "port_mappings[1]: container_port 0", `port_mappings[2]: protocol "sctp"`}},
		{name: "hostname with host network", mod: func(ti *mesos.TaskInfo) { ti.Container.Hostname = "x" }, want: []string{"hostname cannot be set with network HOST"}},
		{name: "volumes", mod: func(ti *mesos.TaskInfo) {
			ti.Container.Volumes = []mesos.Volume{{ContainerPath: "/data", Mode: "RW"}, {HostPath: "../up", ContainerPath: "/x", Mode: "RW"},
				{HostPath: "/srv", ContainerPath: "/srv", Mode: "WO"}, {HostPath: "/srv", ContainerPath: SandboxPath, Mode: "RO"}}
		}, want: []string{"volumes[0]: host_path is required", "volumes[1]: relative host_path", `volumes[2]: mode "WO"`, "volumes[3]: container_path /mnt/mesos/sandbox"}},
		{name: "parameters", mod: func(ti *mesos.TaskInfo) {
			ti.Container.Docker.Parameters = []mesos.Parameter{{Key: "volume", Value: "/:/host"}, {Key: "pid", Value: "host"},
				{Key: "cap-add", Value: "SYS_ADMIN"}, {Key: "label", Value: "marina.agent_id=x"}, {Key: "workdir", Value: "rel"},
				{Key: "entrypoint", Value: "/bin/x"}, {Key: "memory-swap", Value: "1m"}}
		}, want: []string{`"volume" is not allowed: use container.volumes`, `"pid" is not supported (supported: add-host,`,
			"adding capabilities is not allowed", "labels marina.* are reserved", "workdir=\"rel\": want an absolute path",
			"entrypoint=\"/bin/x\": conflicts with a shell command", "below the memory limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildCreate(testSpec(tc.mod), tc.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestBuildCreateParametersAndVolumes(t *testing.T) {
	f := false
	mod := func(ti *mesos.TaskInfo) {
		ti.Command = &mesos.CommandInfo{Shell: &f, Arguments: []string{"-x"}}
		ti.Container.Docker.Network = "BRIDGE"
		ti.Container.Docker.Privileged = true
		ti.Container.Volumes = []mesos.Volume{{HostPath: "/srv/data", ContainerPath: "/data", Mode: "RO"}, {HostPath: "cache", ContainerPath: "tmp", Mode: "RW"}}
		ti.Container.Docker.Parameters = []mesos.Parameter{
			{Key: "label", Value: "a=b"}, {Key: "--env", Value: "PORT0=80"}, {Key: "e", Value: "X=1"}, {Key: "workdir", Value: "/app"},
			{Key: "user", Value: "nobody"}, {Key: "hostname", Value: "web"}, {Key: "entrypoint", Value: "/bin/app"},
			{Key: "memory-swap", Value: "-1"}, {Key: "init", Value: "true"}, {Key: "add-host", Value: "db:10.0.0.9"},
			{Key: "dns", Value: "10.0.0.53"}, {Key: "ulimit", Value: "nofile=1024:2048"}, {Key: "shm-size", Value: "64m"},
			{Key: "stop-signal", Value: "SIGQUIT"}, {Key: "read-only", Value: "true"}, {Key: "tmpfs", Value: "/run:size=1m"},
			{Key: "pids-limit", Value: "100"}, {Key: "cap-drop", Value: "NET_RAW"}, {Key: "cap-add", Value: "NET_ADMIN"},
		}
	}
	cs, err := buildCreate(testSpec(mod), buildOptions{allowPrivileged: true})
	if err != nil {
		t.Fatal(err)
	}
	c, h := cs.config, cs.host
	if !h.Privileged || c.Labels["a"] != "b" || env(t, cs, "PORT0") != "80" || env(t, cs, "X") != "1" || c.WorkingDir != "/app" ||
		c.User != "nobody" || c.Hostname != "web" || !slices.Equal(c.Entrypoint, []string{"/bin/app"}) || !slices.Equal(c.Cmd, []string{"-x"}) ||
		h.MemorySwap != -1 || h.Init == nil || !*h.Init || !slices.Equal(h.ExtraHosts, []string{"db:10.0.0.9"}) ||
		!slices.Equal(h.DNS, []string{"10.0.0.53"}) || len(h.Ulimits) != 1 || h.Ulimits[0].Hard != 2048 || h.ShmSize != 64<<20 ||
		c.StopSignal != "SIGQUIT" || !h.ReadonlyRootfs || h.Tmpfs["/run"] != "size=1m" || *h.PidsLimit != 100 ||
		!slices.Equal([]string(h.CapDrop), []string{"NET_RAW"}) || !slices.Equal([]string(h.CapAdd), []string{"NET_ADMIN"}) {
		t.Fatalf("config %+v\nhost %+v", c, h)
	}
	if n := strings.Count(strings.Join(c.Env, "\n"), "PORT0="); n != 1 {
		t.Fatalf("PORT0 set %d times: %q", n, c.Env)
	}
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: "/var/lib/marina/sandboxes/fw/web.1", Target: SandboxPath},
		{Type: mount.TypeBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
		{Type: mount.TypeBind, Source: "/var/lib/marina/sandboxes/fw/web.1/cache", Target: SandboxPath + "/tmp"},
	}
	if !slices.Equal(h.Mounts, want) {
		t.Fatalf("mounts %+v", h.Mounts)
	}
}

func TestLimitsFloor(t *testing.T) {
	cs, err := buildCreate(testSpec(func(ti *mesos.TaskInfo) {
		ti.Resources = mesos.Resources{mesos.ScalarResource(mesos.ResourceCPUs, 0.001), mesos.ScalarResource(mesos.ResourceMem, 4)}
	}), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := cs.host.Resources; r.CPUShares != minCPUShares || r.CPUQuota != minCPUQuota || r.Memory != minMemory {
		t.Fatalf("resources %+v", r)
	}
}

func TestPullResult(t *testing.T) {
	ok := `{"status":"Pulling from library/x"}` + "\n" + `{"status":"Downloaded newer image"}`
	if err := pullResult(strings.NewReader(ok)); err != nil {
		t.Fatal(err)
	}
	bad := `{"status":"Pulling"}{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`
	if err := pullResult(strings.NewReader(bad)); err == nil || err.Error() != "manifest unknown" {
		t.Fatalf("err = %v", err)
	}
}
