package cluster_test

import (
	"context"
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
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/pki"
)

// webApp serves a page naming its task from busybox httpd inside the agents' containers.
const webApp = `{"id": "/web", "instances": 2, "cpus": 0.1, "mem": 32, "portDefinitions": [{"port": 0}],
 "cmd": "mkdir -p www && echo hello-$MESOS_TASK_ID > www/index.html && exec httpd -f -p $PORT0 -h www"}`

// dockerWebApp is the same as a bridged docker task, a sibling container of the agents.
const dockerWebApp = `{"id": "/dweb", "instances": 1, "cpus": 0.1, "mem": 32,
 "cmd": "mkdir -p /www && echo hello-from-docker > /www/index.html && exec httpd -f -p 8080 -h /www",
 "container": {"type": "DOCKER", "docker": {"image": "marina-busybox:latest"},
   "portMappings": [{"containerPort": 8080, "hostPort": 0}]},
 "networks": [{"mode": "container/bridge"}]}`

// udpApp echoes UDP datagrams from a bridged docker task: python3 in the Debian image the
// cloud-init test builds (busybox's nc has no UDP).
const udpApp = `{"id": "/dudp", "instances": 1, "cpus": 0.1, "mem": 64,
 "cmd": "exec python3 -u -c \"import socket;s=socket.socket(2,2);s.bind(('',5353));[s.sendto(*m) for m in iter(lambda:s.recvfrom(65535),None)]\"",
 "container": {"type": "DOCKER", "docker": {"image": "marina-cloudinit:latest"},
   "portMappings": [{"containerPort": 5353, "hostPort": 0, "protocol": "udp"}]},
 "networks": [{"mode": "container/bridge"}]}`

// TestDockerUpAppFailoverDown brings a 3+3 cluster up in containers with the real binary,
// serves an app from process tasks (and one from a docker task when the test image exists),
// scales it to 6, kills the leading master's container, checks that the app keeps serving and
// a new leader is reported, restarts the docker task's agent and reaches the task again, then
// takes the cluster down and checks that no container, network or volume of it remains.
func TestDockerUpAppFailoverDown(t *testing.T) {
	cli := dockerOrSkip(t)
	bin := buildMarina(t)
	state := t.TempDir()
	name := fmt.Sprintf("de2e-%d", os.Getpid())
	common := []string{"--state-dir", state, "--name", name}
	api := []string{"--state-dir", state, "--cluster", name}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	volumesBefore := volumeNames(t, ctx, cli)
	_, err := cli.ImageInspect(ctx, "marina-busybox:latest")
	withDockerTask := err == nil
	if !withDockerTask {
		t.Log("no marina-busybox:latest image (scripts/build-test-image.sh): no docker task")
	}
	_, err = cli.ImageInspect(ctx, "marina-cloudinit:latest")
	withUDPTask := err == nil
	if !withUDPTask {
		t.Log("no marina-cloudinit:latest image (scripts/build-cloudinit-image.sh): no UDP task")
	}

	downAtCleanup(t, bin, common)
	start := time.Now()
	out, errOut, code := marina(t, ctx, bin, append([]string{"up", "--provider", "docker", "--masters", "3", "--agents", "3"}, common...)...)
	upTime := time.Since(start)
	if code != 0 {
		t.Fatalf("marina up: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("marina up --provider docker (3 masters, 3 agents) took %v:\n%s", upTime.Round(time.Millisecond), out)
	for _, w := range []string{"https://", "/console/", "/ui/", "login:     the API token in " + filepath.Join(state, name, "token"),
		"CA:        " + filepath.Join(state, name, "ca.pem"), "client:    " + filepath.Join(state, "config.json")} {
		if !strings.Contains(out, w) {
			t.Errorf("marina up does not print %q (a docker cluster serves TLS with a token)", w)
		}
	}

	st, code := status(t, ctx, bin, common...)
	if code != 0 || !st.Healthy || len(st.Masters) != 3 || len(st.Agents) != 3 || st.Provider != "docker" {
		t.Fatalf("status (exit %d): %+v", code, st)
	}
	if out, errOut, code := marina(t, ctx, bin, append([]string{"up", "--provider", "docker"}, common...)...); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second up: exit %d\n%s%s", code, out, errOut)
	}

	// Apps through the CLI, which finds the cluster and its token in the client config.
	dir := t.TempDir()
	apps := map[string]string{"web.json": webApp}
	if withDockerTask {
		apps["dweb.json"] = dockerWebApp
	}
	if withUDPTask {
		apps["dudp.json"] = udpApp
	}
	for file, def := range apps {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(def), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, errOut, code := marina(t, ctx, bin, append([]string{"app", "create", "-f", filepath.Join(dir, file), "--wait"}, api...)...); code != 0 {
			t.Fatalf("app create %s: exit %d\n%s%s", file, code, out, errOut)
		}
	}
	token, err := os.ReadFile(filepath.Join(state, name, "token"))
	if err != nil {
		t.Fatal(err)
	}
	mcfg := marathon.Config{URLs: []string{st.Endpoints.Services}, Token: strings.TrimSpace(string(token))}
	if mcfg.TLSConfig, err = pki.ClientConfig(filepath.Join(state, name, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	mc, err := marathon.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	serving(t, ctx, mc, "/web", 2)
	marinaOK(t, ctx, bin, append([]string{"app", "scale", "/web", "6", "--wait"}, api...)...)
	web := serving(t, ctx, mc, "/web", 6)
	if withDockerTask {
		// A bridged docker task answers at the host and port Marathon reports: its agent's
		// address, from which the agent relays the port the engine publishes on its machine.
		serving(t, ctx, mc, "/dweb", 1)
	}
	if withUDPTask {
		// Its UDP port too: the agent relays datagrams both ways.
		servingBy(t, ctx, mc, "/dudp", 1, udpEcho)
	}

	// Kill the leading master's container.
	leader := ""
	for _, m := range st.Masters {
		if m.Leader {
			leader = m.Name
		}
	}
	if err := cli.ContainerKill(ctx, "marina-"+name+"-"+leader, "KILL"); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	var failover time.Duration
	for {
		st, _ = status(t, ctx, bin, common...)
		if st.Leader != "" && !strings.Contains(st.Leader, leaderAddr(st, leader)) {
			failover = time.Since(killedAt)
			break
		}
		if time.Since(killedAt) > 20*time.Second {
			t.Fatalf("no new leader 20s after docker kill of %s: %+v", leader, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("docker provider failover: status reports new leader %s %.2fs after docker kill of %s\n", st.Leader, failover.Seconds(), leader)
	for _, addr := range web {
		if err := get(ctx, addr, "hello-"); err != nil {
			t.Errorf("the app stopped serving after the failover: %v", err)
		}
	}
	if withDockerTask {
		mcfg.URLs = []string{st.Endpoints.Services} // the new leader's
		if mc, err = marathon.New(mcfg); err != nil {
			t.Fatal(err)
		}
		restartAgentOf(t, ctx, cli, mc, name, "/dweb")
		// The restarted agent recovers the task's container and relays its port again.
		serving(t, ctx, mc, "/dweb", 1)
	}

	start = time.Now()
	out, errOut, code = marina(t, ctx, bin, append([]string{"down"}, common...)...)
	downTime := time.Since(start)
	if code != 0 {
		t.Fatalf("marina down: exit %d\n%s%s", code, out, errOut)
	}
	fmt.Printf("marina up --provider docker 3+3: %.2fs; marina down: %.2fs\n", upTime.Seconds(), downTime.Seconds())
	left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "marina.cluster="+name))})
	if err != nil || len(left) > 0 {
		t.Errorf("containers of the cluster remain: %v (%v)", left, err)
	}
	tasks, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "marina.task_id"))})
	for _, ct := range tasks {
		for _, m := range ct.Mounts {
			if strings.HasPrefix(m.Source, filepath.Join(state, name)) {
				t.Errorf("task container %v remains", ct.Names)
			}
		}
	}
	if err != nil {
		t.Error(err)
	}
	if _, err := cli.NetworkInspect(ctx, "marina-"+name, network.InspectOptions{}); !client.IsErrNotFound(err) {
		t.Errorf("the cluster's network remains: %v", err)
	}
	for v := range volumeNames(t, ctx, cli) {
		if !volumesBefore[v] {
			t.Errorf("volume %s appeared with the cluster and remains", v)
		}
	}
	if _, err := os.Stat(filepath.Join(state, name)); !os.IsNotExist(err) {
		t.Errorf("state dir remains: %v", err)
	}
	// The node image stays for the next up.
	if imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "marina-node"))}); err != nil || len(imgs) == 0 {
		t.Errorf("node image: %v, %v", imgs, err)
	}
}

// restartAgentOf restarts the container of the agent that runs app's first task.
func restartAgentOf(t *testing.T, ctx context.Context, cli *client.Client, mc *marathon.Client, cluster, app string) {
	t.Helper()
	tasks, err := mc.Tasks(ctx, app)
	if err != nil || len(tasks) == 0 {
		t.Fatalf("tasks of %s: %v, %v", app, tasks, err)
	}
	agents, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "marina.cluster="+cluster), filters.Arg("label", "marina.role=agent"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if ep := a.NetworkSettings.Networks["marina-"+cluster]; ep != nil && ep.IPAddress == tasks[0].Host {
			if err := cli.ContainerRestart(ctx, a.ID, container.StopOptions{}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no agent container at %s", tasks[0].Host)
}

// serving waits until app runs n tasks and each serves its page at the host and port Marathon
// reports, and returns their addresses.
func serving(t *testing.T, ctx context.Context, mc *marathon.Client, app string, n int) []string {
	t.Helper()
	return servingBy(t, ctx, mc, app, n, func(ctx context.Context, addr string) error { return get(ctx, addr, "hello-") })
}

// servingBy waits until n running tasks of app answer probe at the host and first port Marathon
// reports, and returns those addresses.
func servingBy(t *testing.T, ctx context.Context, mc *marathon.Client, app string, n int, probe func(ctx context.Context, addr string) error) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		tasks, err := mc.Tasks(ctx, app)
		var addrs []string
		var lastErr error
		if err == nil {
			for _, task := range runningWithPorts(tasks) {
				addr := net.JoinHostPort(task.Host, strconv.Itoa(task.Ports[0]))
				if lastErr = probe(ctx, addr); lastErr == nil {
					addrs = append(addrs, addr)
				}
			}
		} else {
			lastErr = err
		}
		if len(addrs) == n {
			return addrs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d tasks serve after 60s (last error: %v)", app, len(addrs), n, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func runningWithPorts(tasks []api.Task) []api.Task {
	var out []api.Task
	for _, t := range tasks {
		if t.State == "TASK_RUNNING" && len(t.Ports) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// get fetches http://addr/ and wants a page that contains want.
func get(ctx context.Context, addr, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		return fmt.Errorf("GET %s: %s: %q", addr, resp.Status, b)
	}
	return nil
}

// leaderAddr returns the address of master name in a status.
func leaderAddr(st statusJSON, name string) string {
	for _, m := range st.Masters {
		if m.Name == name {
			return m.Address
		}
	}
	return name
}

func volumeNames(t *testing.T, ctx context.Context, cli *client.Client) map[string]bool {
	t.Helper()
	vols, err := cli.VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	out := map[string]bool{}
	for _, v := range vols.Volumes {
		out[v.Name] = true
	}
	return out
}

// udpEcho sends a datagram to addr and expects it back within a second.
func udpEcho(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	want := "marina-udp-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := c.Write([]byte(want)); err != nil {
		return err
	}
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("udp %s: %w", addr, err)
	}
	if got := string(buf[:n]); got != want {
		return fmt.Errorf("udp %s echoed %q, want %q", addr, got, want)
	}
	return nil
}
