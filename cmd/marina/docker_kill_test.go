package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/agent/docker"
	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/testutil"
	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// dockerTestImage is built by scripts/build-test-image.sh.
const dockerTestImage = "marina-busybox:latest"

// killApp serves a page from busybox httpd in two bridged containers. Its COMMAND health check
// runs inside each container: it fetches the page from the container's own port 8080 (not
// published on the host's loopback under that number) and fails while the file "sick" is in the
// task's sandbox. Its grace period outlasts the test, so a failure is reported only by a check
// that knows the task passed before.
const killApp = `{"id": "/dkill", "instances": 2, "cpus": 0.1, "mem": 32,
 "cmd": "echo serving-from-docker && mkdir -p /www && echo hello-from-docker > /www/index.html && exec httpd -f -p 8080 -h /www",
 "container": {"type": "DOCKER", "docker": {"image": "` + dockerTestImage + `"},
   "portMappings": [{"containerPort": 8080, "hostPort": 0, "name": "http"}]},
 "networks": [{"mode": "container/bridge"}],
 "healthChecks": [{"protocol": "COMMAND",
   "command": {"value": "wget -q -O- http://127.0.0.1:8080/ | grep -q hello-from-docker && test ! -f $MESOS_SANDBOX/sick"},
   "gracePeriodSeconds": 300, "intervalSeconds": 1, "timeoutSeconds": 5, "delaySeconds": 0,
   "maxConsecutiveFailures": 0}]}`

// marinaBinary builds the marina binary into the test's temporary directory (the Go build
// cache makes a second build cheap).
func marinaBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "marina")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/marina-dcos/marina/cmd/marina").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// marinaProc is a marina process the test started; its output goes to a file shown when the test
// fails.
type marinaProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startMarina runs bin with args and stops it (SIGTERM, then SIGKILL) when the test ends.
func startMarina(t *testing.T, bin, name string, args ...string) *marinaProc {
	t.Helper()
	n := &marinaProc{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(n.log)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = f, f
	if err := n.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	go func() {
		_ = n.cmd.Wait()
		f.Close()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(n.log)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("%s log (tail):\n%s", n.name, b)
		}
	})
	return n
}

// stop signals the process and waits for it to end, killing it after grace.
func (n *marinaProc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(grace):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// dockerEngine returns a client of the local engine, or skips the test.
func dockerEngine(t *testing.T) *client.Client {
	t.Helper()
	return dockertest.Engine(t, dockerTestImage)
}

// TestDockerSurvivesAgentKill runs a master and an agent as processes of the built binary,
// posts a bridged docker app with a COMMAND health check, and kills the agent with SIGKILL: the
// containers keep serving, and a new agent process on the same work dir takes them back (same
// tasks, same containers, none added or lost) and resumes their health checks.
func TestDockerSurvivesAgentKill(t *testing.T) {
	engine := dockerEngine(t)
	start := time.Now()
	bin := marinaBinary(t)
	ctx := testutil.Context(t)
	phase := func(name string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), name) }
	phase("built")

	masterPort, servicesPort := testutil.FreePort(t), testutil.FreePort(t)
	startMarina(t, bin, "master", "master", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(masterPort), "--services-port", strconv.Itoa(servicesPort),
		"--etcd-client-port", strconv.Itoa(testutil.FreePort(t)), "--etcd-peer-port", strconv.Itoa(testutil.FreePort(t)),
		"--etcd-heartbeat-ms", "50", "--etcd-election-ms", "500",
		"--work-dir", filepath.Join(t.TempDir(), "master"))

	agentDir := filepath.Join(t.TempDir(), "agent")
	agentAddr := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	agentArgs := []string{"agent", "--master", "http://127.0.0.1:" + strconv.Itoa(masterPort),
		"--listen", agentAddr, "--work-dir", agentDir,
		"--containerizers", "process,docker",
		"--resources", "cpus:2;mem:1024;disk:1024;ports:" + freePorts(t, 4)}
	agent := startMarina(t, bin, "agent", agentArgs...)

	mc, err := marathon.New(marathon.Config{URLs: []string{"http://127.0.0.1:" + strconv.Itoa(servicesPort)}})
	if err != nil {
		t.Fatal(err)
	}
	var res *marathon.Result
	testutil.WaitFor(t, 30*time.Second, func() error {
		// Answered 503 until the services role leads and knows it.
		res, err = mc.CreateAppJSON(ctx, []byte(killApp))
		return err
	})
	t.Cleanup(func() {
		// After the nodes stopped (cleanups run last to first): remove the containers a
		// failure left, found by their sandbox under the agent's work dir.
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := engine.ContainerList(dctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", docker.LabelAgentID))})
		if err != nil {
			t.Errorf("list containers: %v", err)
			return
		}
		for _, c := range list {
			for _, m := range c.Mounts {
				if strings.HasPrefix(m.Source, agentDir+string(filepath.Separator)) {
					_ = engine.ContainerRemove(dctx, c.ID, container.RemoveOptions{Force: true})
					break
				}
			}
		}
	})
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := mc.WaitForDeployment(wctx, res.DeploymentID); err != nil {
		t.Fatal(err)
	}

	phase("deployed")
	before := healthyTasks(t, mc)
	agentID := before[0].SlaveID
	for _, task := range before {
		if len(task.IPAddresses) == 0 || task.IPAddresses[0].IPAddress == "127.0.0.1" {
			t.Errorf("task %s reports no container address: %+v", task.ID, task.IPAddresses)
		}
	}
	containers := containersOf(t, engine, agentID)
	if len(containers) != 2 {
		t.Fatalf("%d containers of the agent, want 2", len(containers))
	}

	phase("serving and healthy; killing the agent")
	agent.stop(syscall.SIGKILL, 0)
	for _, task := range before {
		if _, err := taskPage(task); err != nil {
			t.Fatalf("with the agent killed, task %s stopped serving: %v", task.ID, err)
		}
	}
	if got := containersOf(t, engine, agentID); !sameContainers(got, containers) {
		t.Fatalf("with the agent killed, containers are %v, want %v", containerNames(got), containerNames(containers))
	}

	// A container of this agent that no task owns, as a lost checkpoint would leave: the new
	// agent removes it.
	orphan := createOrphan(t, engine, agentID)

	phase("agent restarting")
	startMarina(t, bin, "agent-2", agentArgs...)
	// The new agent process runs the tasks itself, not just the master's memory of them.
	testutil.WaitFor(t, 30*time.Second, func() error {
		got, err := agentTasks(agentAddr)
		if err == nil && !slices.Equal(got, taskIDs(before)) {
			err = fmt.Errorf("the restarted agent runs %v, want %v", got, taskIDs(before))
		}
		return err
	})
	after := healthyTasks(t, mc)
	if !sameTasks(before, after) {
		t.Fatalf("tasks after the agent's restart %v, want the same as before %v", taskIDs(after), taskIDs(before))
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if got := containersOf(t, engine, agentID); !sameContainers(got, containers) {
			return fmt.Errorf("after the agent's restart, containers are %v, want %v (the orphan %s removed)",
				containerNames(got), containerNames(containers), orphan)
		}
		return nil
	})

	// Its output reaches the sandbox as before, once: marina task logs reads it through the
	// master.
	out, err := exec.CommandContext(ctx, bin, "task", "logs", before[0].ID,
		"--services", "http://127.0.0.1:"+strconv.Itoa(servicesPort),
		"--master", "http://127.0.0.1:"+strconv.Itoa(masterPort)).CombinedOutput()
	if err != nil || strings.Count(string(out), "serving-from-docker") != 1 {
		t.Errorf("marina task logs: %v: %q, want the task's line once", err, out)
	}

	phase("taken back")
	// The new agent checks health: a sick task turns unhealthy, then healthy again.
	sandboxes, err := filepath.Glob(filepath.Join(agentDir, "sandboxes", "*", before[0].ID))
	if err != nil || len(sandboxes) != 1 {
		t.Fatalf("sandbox of task %s: %v %v", before[0].ID, sandboxes, err)
	}
	sick := filepath.Join(sandboxes[0], "sick")
	if err := os.WriteFile(sick, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, mc, before[0].ID, false)
	if err := os.Remove(sick); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, mc, before[0].ID, true)
	if got := healthyTasks(t, mc); !sameTasks(before, got) {
		t.Fatalf("tasks %v, want %v", taskIDs(got), taskIDs(before))
	}

	phase("health resumed")
	// A rolling restart through the new agent replaces both tasks and removes their containers.
	if res, err = mc.RestartApp(ctx, "/dkill", false); err != nil {
		t.Fatal(err)
	}
	if err := mc.WaitForDeployment(wctx, res.DeploymentID); err != nil {
		t.Fatal(err)
	}
	phase("restart deployed")
	restarted := healthyTasks(t, mc)
	for _, task := range restarted {
		if slices.Contains(taskIDs(before), task.ID) {
			t.Errorf("task %s survived the restart", task.ID)
		}
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		got := containersOf(t, engine, agentID)
		for _, c := range got {
			if !slices.Contains(taskIDs(restarted), c.Labels[docker.LabelTaskID]) {
				return fmt.Errorf("container %s of task %s is left after the restart", c.Names, c.Labels[docker.LabelTaskID])
			}
		}
		return nil
	})
	phase("restarted")

	if res, err = mc.DeleteApp(ctx, "/dkill", false); err != nil {
		t.Fatal(err)
	}
	if err := mc.WaitForDeployment(wctx, res.DeploymentID); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if got := containersOf(t, engine, agentID); len(got) > 0 {
			return fmt.Errorf("containers left after the app's deletion: %v", containerNames(got))
		}
		return nil
	})
	phase("deleted")
}

// agentTasks returns the ids of the tasks an agent's /state shows running, sorted.
func agentTasks(addr string) ([]string, error) {
	var st struct {
		Frameworks []struct {
			Executors []struct {
				Tasks []mesos.TaskView `json:"tasks"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/state")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return nil, fmt.Errorf("agent state: %w", err)
	}
	var ids []string
	for _, fw := range st.Frameworks {
		for _, ex := range fw.Executors {
			for _, task := range ex.Tasks {
				if task.State == mesos.TaskRunning {
					ids = append(ids, task.ID)
				}
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// createOrphan creates a container labelled as the agent's own, for a container id no task
// has, and returns its name.
func createOrphan(t *testing.T, engine *client.Client, agentID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "marina-orphan-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	c, err := engine.ContainerCreate(ctx, &container.Config{Image: dockerTestImage, Cmd: []string{"sleep", "3600"},
		Labels: map[string]string{docker.LabelAgentID: agentID, docker.LabelContainerID: name, docker.LabelTaskID: "lost"}},
		nil, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
	if err := engine.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// freePorts returns n distinct free ports as a ports resource value, "[a-a,b-b,...]".
func freePorts(t *testing.T, n int) string {
	var ports []int
	for len(ports) < n {
		if p := testutil.FreePort(t); !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	parts := make([]string, n)
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%d-%d", p, p)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// healthyTasks waits until /dkill has exactly two running and healthy tasks, each serving its
// page on the host port it reports, and returns them sorted by id.
func healthyTasks(t *testing.T, mc *marathon.Client) []api.Task {
	t.Helper()
	var tasks []api.Task
	testutil.WaitFor(t, 45*time.Second, func() error {
		var err error
		if tasks, err = mc.Tasks(context.Background(), "/dkill"); err != nil {
			return err
		}
		if len(tasks) != 2 {
			return fmt.Errorf("%d tasks, want 2", len(tasks))
		}
		for _, task := range tasks {
			if task.State != "TASK_RUNNING" {
				return fmt.Errorf("task %s is %s", task.ID, task.State)
			}
			if len(task.HealthCheckResults) != 1 || !task.HealthCheckResults[0].Alive {
				return fmt.Errorf("task %s is not healthy: %+v", task.ID, task.HealthCheckResults)
			}
			if _, err := taskPage(task); err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortFunc(tasks, func(a, b api.Task) int { return strings.Compare(a.ID, b.ID) })
	return tasks
}

// waitHealth waits until the task's health check result is alive or not.
func waitHealth(t *testing.T, mc *marathon.Client, id string, alive bool) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() error {
		tasks, err := mc.Tasks(context.Background(), "/dkill")
		if err != nil {
			return err
		}
		for _, task := range tasks {
			if task.ID == id && len(task.HealthCheckResults) == 1 && task.HealthCheckResults[0].Alive == alive {
				return nil
			}
		}
		return fmt.Errorf("task %s not alive=%v: %+v", id, alive, tasks)
	})
}

// taskPage fetches a task's page from the host port it reports.
func taskPage(task api.Task) (string, error) {
	if len(task.Ports) == 0 {
		return "", fmt.Errorf("task %s reports no port", task.ID)
	}
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://%s:%d/", task.Host, task.Ports[0]))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err == nil && !strings.Contains(string(b), "hello-from-docker") {
		err = fmt.Errorf("task %s answered %q", task.ID, b)
	}
	return string(b), err
}

// containersOf lists the containers, running or not, the engine has of the agent.
func containersOf(t *testing.T, engine *client.Client, agentID string) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := engine.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelAgentID+"="+agentID))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func sameContainers(a, b []container.Summary) bool {
	ids := func(l []container.Summary) []string {
		var out []string
		for _, c := range l {
			if c.State != "running" {
				return nil
			}
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	x, y := ids(a), ids(b)
	return len(x) == len(a) && len(y) == len(b) && slices.Equal(x, y)
}

func containerNames(l []container.Summary) []string {
	var out []string
	for _, c := range l {
		out = append(out, strings.Join(c.Names, ",")+" "+c.State)
	}
	return out
}

func sameTasks(a, b []api.Task) bool { return slices.Equal(taskIDs(a), taskIDs(b)) }

func taskIDs(l []api.Task) []string {
	var out []string
	for _, t := range l {
		out = append(out, t.ID)
	}
	return out
}
