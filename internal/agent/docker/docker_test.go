package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/executor/executortest"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// The tests below run containers of the image scripts/build-test-image.sh builds; they skip
// when no engine answers or the image is missing. Every container they create carries
// labelRun=runID, and TestMain removes whatever a failed test left.
const labelRun = "marina.test_run"

var runID = randomID()

func TestMain(m *testing.M) {
	code := m.Run()
	if cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		list, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelRun+"="+runID))})
		for _, c := range list {
			fmt.Fprintf(os.Stderr, "removing container %s left by a test\n", c.Names)
			_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
		cancel()
		cli.Close()
	}
	os.Exit(code)
}

func testImage() string {
	if s := os.Getenv("MARINA_TEST_IMAGE"); s != "" {
		return s
	}
	return "marina-busybox:latest"
}

// engine returns a client of the local engine, or skips the test.
func engine(t testing.TB) *client.Client {
	t.Helper()
	return dockertest.Engine(t, testImage())
}

func newTestExecutor(t *testing.T, agentID string) *Executor {
	t.Helper()
	ex, err := New(Config{Logger: testutil.Logger(t, "docker"), AgentID: agentID, Labels: map[string]string{labelRun: runID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestConformance(t *testing.T) {
	engine(t)
	executortest.Run(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return newTestExecutor(t, "agent-1") },
		Decorate: func(ti *mesos.TaskInfo) {
			ti.Container = &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: testImage(), Network: "BRIDGE"}}
		},
		Timeout:      60 * time.Second,
		MemoryLimits: true,
	})
}

// newSpec returns a BRIDGE task of the test image running cmd, with the given ports.
func newSpec(t *testing.T, agentID, cmd string, ports []uint64, mod func(*mesos.TaskInfo)) executor.Spec {
	t.Helper()
	dir := t.TempDir()
	id := randomID()
	ti := mesos.TaskInfo{
		Name:    "t",
		TaskID:  mesos.ID{Value: "task-" + id},
		Command: &mesos.CommandInfo{Value: &cmd},
		Resources: mesos.Resources{
			mesos.ScalarResource(mesos.ResourceCPUs, 0.1),
			mesos.ScalarResource(mesos.ResourceMem, 64),
		},
		Container: &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: testImage(), Network: "BRIDGE"}},
	}
	for _, p := range ports {
		ti.Resources = append(ti.Resources, mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: p, End: p}))
	}
	if mod != nil {
		mod(&ti)
	}
	spec := executor.Spec{ContainerID: id, FrameworkID: "fw-1", AgentID: agentID, Hostname: "host-1", Task: ti,
		Sandbox: filepath.Join(dir, "sandbox"), StateDir: filepath.Join(dir, "state")}
	for _, d := range []string{spec.Sandbox, spec.StateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return spec
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// launch launches spec and kills and removes its container when the test ends.
func launch(t *testing.T, ex *Executor, spec executor.Spec) executor.Container {
	t.Helper()
	c, err := ex.Launch(ctxFor(t), spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.Kill(ctx, 0)
		if err := ex.Cleanup(ctx, spec); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return c
}

func httpGet(url string) (string, error) {
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

func waitBody(t *testing.T, url, want string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() error {
		got, err := httpGet(url)
		if err == nil && got != want {
			err = fmt.Errorf("body %q, want %q", got, want)
		}
		return err
	})
}

// TestBridgePortMapping serves HTTP on a container port published on one of the task's host
// ports, and reports the container's own address.
func TestBridgePortMapping(t *testing.T) {
	engine(t)
	ex := newTestExecutor(t, "agent-1")
	port := uint64(testutil.FreePort(t))
	spec := newSpec(t, "agent-1", `echo "bridge $PORT0" > index.html; exec httpd -f -p 8080`, []uint64{port}, func(ti *mesos.TaskInfo) {
		ti.Container.Docker.PortMappings = []mesos.PortMapping{{HostPort: uint32(port), ContainerPort: 8080, Protocol: "tcp"}}
	})
	c := launch(t, ex, spec)
	waitBody(t, "http://127.0.0.1:"+strconv.FormatUint(port, 10)+"/index.html", "bridge "+strconv.FormatUint(port, 10)+"\n")
	st := c.Status()
	if len(st.NetworkInfos) != 1 || len(st.NetworkInfos[0].IPAddresses) == 0 {
		t.Fatalf("status %+v has no container address", st)
	}
	ip := net.ParseIP(st.NetworkInfos[0].IPAddresses[0].IPAddress)
	if ip == nil || ip.IsLoopback() || st.ExecutorPID == nil {
		t.Fatalf("status %+v", st)
	}
}

// TestHostNetwork serves on the task's port in the host's network; the agent reports its own
// address for such tasks, so the executor reports none.
func TestHostNetwork(t *testing.T) {
	engine(t)
	ex := newTestExecutor(t, "agent-1")
	port := uint64(testutil.FreePort(t))
	spec := newSpec(t, "agent-1", `echo host > index.html; exec httpd -f -p 127.0.0.1:$PORT0`, []uint64{port}, func(ti *mesos.TaskInfo) {
		ti.Container.Docker.Network = "HOST"
	})
	c := launch(t, ex, spec)
	waitBody(t, "http://127.0.0.1:"+strconv.FormatUint(port, 10)+"/index.html", "host\n")
	if st := c.Status(); len(st.NetworkInfos) != 0 {
		t.Fatalf("status %+v reports addresses", st)
	}
}

// TestUserNetwork joins a network by name and reports the address it got there.
func TestUserNetwork(t *testing.T) {
	cli := engine(t)
	ctx := ctxFor(t)
	name := "marina-test-" + randomID()
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: map[string]string{labelRun: runID}}); err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(func() {
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network: %v", err)
		}
	})
	nw, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil || len(nw.IPAM.Config) == 0 {
		t.Fatalf("inspect network: %+v, %v", nw.IPAM, err)
	}
	_, subnet, err := net.ParseCIDR(nw.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	ex := newTestExecutor(t, "agent-1")
	spec := newSpec(t, "agent-1", `exec sleep 600`, nil, func(ti *mesos.TaskInfo) {
		ti.Container.Docker.Network = "USER"
		ti.Container.NetworkInfos = []mesos.NetworkInfo{{Name: name}}
		ti.Container.Hostname = "web"
	})
	c := launch(t, ex, spec)
	st := c.Status()
	if len(st.NetworkInfos) != 1 || st.NetworkInfos[0].Name != name || len(st.NetworkInfos[0].IPAddresses) == 0 {
		t.Fatalf("status %+v", st)
	}
	if ip := net.ParseIP(st.NetworkInfos[0].IPAddresses[0].IPAddress); !subnet.Contains(ip) {
		t.Fatalf("address %v not in %v", ip, subnet)
	}
	// The container must be removed before its network.
	if err := c.Kill(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := ex.Cleanup(ctx, spec); err != nil {
		t.Fatal(err)
	}
}

// TestVolumes mounts host paths read-only and read-write.
func TestVolumes(t *testing.T) {
	engine(t)
	ex := newTestExecutor(t, "agent-1")
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "f"), []byte("read me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, "agent-1", `cat /ro/f && ! touch /ro/x 2>/dev/null && echo written > /rw/out && echo local > cache/file`, nil, func(ti *mesos.TaskInfo) {
		ti.Container.Volumes = []mesos.Volume{{HostPath: ro, ContainerPath: "/ro", Mode: "RO"}, {HostPath: rw, ContainerPath: "/rw", Mode: "RW"},
			{HostPath: "cache-host", ContainerPath: "cache", Mode: "RW"}}
	})
	if err := os.Mkdir(filepath.Join(spec.Sandbox, "cache-host"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := launch(t, ex, spec)
	x, err := c.Wait(ctxFor(t))
	if err != nil || !x.Success() {
		b, _ := os.ReadFile(filepath.Join(spec.Sandbox, "stderr"))
		t.Fatalf("exit %+v, %v; stderr %q", x, err, b)
	}
	for path, want := range map[string]string{
		filepath.Join(spec.Sandbox, "stdout"):             "read me\n",
		filepath.Join(rw, "out"):                          "written\n",
		filepath.Join(spec.Sandbox, "cache-host", "file"): "local\n",
	} {
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Errorf("%s = %q, want %q", path, b, want)
		}
	}
}

// TestLaunchRefusals checks that what cannot run fails the launch with a message that says why.
func TestLaunchRefusals(t *testing.T) {
	engine(t)
	ex := newTestExecutor(t, "agent-1")
	for _, tc := range []struct {
		name string
		mod  func(*mesos.TaskInfo)
		want string
	}{
		{"pull", func(ti *mesos.TaskInfo) { ti.Container.Docker.Image = "127.0.0.1:1/marina/none:latest" }, "pull image 127.0.0.1:1/marina/none:latest"},
		{"privileged", func(ti *mesos.TaskInfo) { ti.Container.Docker.Privileged = true }, "privileged containers are not allowed"},
		{"parameter", func(ti *mesos.TaskInfo) {
			ti.Container.Docker.Parameters = []mesos.Parameter{{Key: "pid", Value: "host"}}
		}, `"pid" is not supported`},
		{"missing host path", func(ti *mesos.TaskInfo) {
			ti.Container.Volumes = []mesos.Volume{{HostPath: "/nonexistent/marina", ContainerPath: "/x", Mode: "RO"}}
		}, "/nonexistent/marina"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := newSpec(t, "agent-1", "true", nil, tc.mod)
			_, err := ex.Launch(ctxFor(t), spec)
			t.Cleanup(func() { _ = ex.Cleanup(context.Background(), spec) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("launch error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLogsResume stops following a container's logs while it writes, as an agent restart does,
// and checks that the next executor copies what was written meanwhile, and nothing twice.
func TestLogsResume(t *testing.T) {
	engine(t)
	ex1 := newTestExecutor(t, "agent-1")
	script := `
batch() { i=$1; while [ $i -lt $2 ]; do echo line$i; echo err$i >&2; i=$((i+1)); done; }
batch 0 10
while [ ! -e mid ]; do sleep 0.02; done
batch 10 20; touch printed
while [ ! -e go ]; do sleep 0.02; done
echo end`
	spec := newSpec(t, "agent-1", script, nil, nil)
	c1 := launch(t, ex1, spec)
	stdout := filepath.Join(spec.Sandbox, "stdout")
	stderr := filepath.Join(spec.Sandbox, "stderr")
	lines := func(from, to int, prefix string) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "%s%d\n", prefix, i)
		}
		return b.String()
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if b, _ := os.ReadFile(stderr); string(b) != lines(0, 10, "err") {
			return fmt.Errorf("stderr %q", b)
		}
		if b, _ := os.ReadFile(stdout); string(b) != lines(0, 10, "line") {
			return fmt.Errorf("stdout %q", b)
		}
		return nil
	})
	if err := ex1.Close(); err != nil {
		t.Fatal(err)
	}
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(spec.Sandbox, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	touch("mid")
	testutil.WaitFor(t, 30*time.Second, func() error {
		_, err := os.Stat(filepath.Join(spec.Sandbox, "printed"))
		return err
	})
	if b, _ := os.ReadFile(stdout); string(b) != lines(0, 10, "line") {
		t.Fatalf("a closed executor still copies logs: %q", b)
	}
	ex2 := newTestExecutor(t, "agent-1")
	c2, err := ex2.Recover(ctxFor(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	touch("go")
	x, err := c2.Wait(ctxFor(t))
	if err != nil || !x.Success() {
		t.Fatalf("exit %+v, %v", x, err)
	}
	if b, _ := os.ReadFile(stdout); string(b) != lines(0, 20, "line")+"end\n" {
		t.Fatalf("stdout %q", b)
	}
	if b, _ := os.ReadFile(stderr); string(b) != lines(0, 20, "err") {
		t.Fatalf("stderr %q", b)
	}
	if y, err := c1.Wait(ctxFor(t)); err != nil || y != x {
		t.Fatalf("first handle: %+v, %v", y, err)
	}
}

// TestRecoverEdges recovers a container created but never started (the agent stopped between
// create and start) and one removed behind the executor's back, and destroys one from its state
// directory alone.
func TestRecoverEdges(t *testing.T) {
	cli := engine(t)
	ctx := ctxFor(t)
	ex := newTestExecutor(t, "agent-1")

	spec := newSpec(t, "agent-1", "true", nil, nil)
	cs, err := buildCreate(spec, buildOptions{labels: map[string]string{labelRun: runID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeState(spec.StateDir, state{Name: cs.name, Image: cs.config.Image}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerCreate(ctx, cs.config, cs.host, cs.net, nil, cs.name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cleanup(context.Background(), spec) })
	c, err := ex.Recover(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Started(ctx); !errors.Is(err, executor.ErrExited) {
		t.Fatalf("started = %v", err)
	}
	if x, err := c.Wait(ctx); err != nil || x.LaunchError != errInterrupted {
		t.Fatalf("exit %+v, %v", x, err)
	}

	spec2 := newSpec(t, "agent-1", "exec sleep 600", nil, nil)
	launch(t, ex, spec2)
	if err := cli.ContainerRemove(ctx, ContainerName(spec2.ContainerID), container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := newTestExecutor(t, "agent-1").Recover(ctx, spec2); !errors.Is(err, executor.ErrNotFound) {
		t.Fatalf("recover removed = %v, want ErrNotFound", err)
	}

	// Teardown without an executor removes a running container, and ignores what is gone.
	spec3 := newSpec(t, "agent-1", "exec sleep 600", nil, nil)
	launch(t, ex, spec3)
	for range 2 {
		if err := Destroy(ctx, nil, spec3.StateDir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.ContainerInspect(ctx, ContainerName(spec3.ContainerID)); !isNotFound(err) {
		t.Fatalf("destroyed container still there: %v", err)
	}
	if err := Destroy(ctx, nil, t.TempDir()); err != nil {
		t.Fatalf("destroy of an empty state dir: %v", err)
	}
}

// TestOrphans finds and removes the containers of this agent that no known task owns, and
// leaves alone the known ones and other agents'.
func TestOrphans(t *testing.T) {
	cli := engine(t)
	ctx := ctxFor(t)
	me, other := "agent-"+randomID(), "agent-"+randomID()
	ex := newTestExecutor(t, me)
	exOther := newTestExecutor(t, other)
	known := newSpec(t, me, "exec sleep 600", nil, nil)
	orphan := newSpec(t, me, "exec sleep 600", nil, nil)
	theirs := newSpec(t, other, "exec sleep 600", nil, nil)
	launch(t, ex, known)
	launch(t, ex, orphan)
	launch(t, exOther, theirs)

	keep := map[string]bool{known.ContainerID: true}
	found, err := ex.Orphans(ctx, keep)
	if err != nil || len(found) != 1 || found[0].ContainerID != orphan.ContainerID || found[0].TaskID != orphan.Task.TaskID.Value ||
		found[0].Name != ContainerName(orphan.ContainerID) || found[0].State != "running" {
		t.Fatalf("orphans %+v, %v", found, err)
	}
	removed, err := ex.CleanupOrphans(ctx, keep)
	if err != nil || len(removed) != 1 {
		t.Fatalf("removed %+v, %v", removed, err)
	}
	if _, err := cli.ContainerInspect(ctx, ContainerName(orphan.ContainerID)); !isNotFound(err) {
		t.Fatalf("orphan still there: %v", err)
	}
	for _, s := range []executor.Spec{known, theirs} {
		if info, err := cli.ContainerInspect(ctx, ContainerName(s.ContainerID)); err != nil || !info.State.Running {
			t.Fatalf("%s: %v", ContainerName(s.ContainerID), err)
		}
	}
	if found, err := ex.Orphans(ctx, keep); err != nil || len(found) != 0 {
		t.Fatalf("orphans after cleanup %+v, %v", found, err)
	}
}
