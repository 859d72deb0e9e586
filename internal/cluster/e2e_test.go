package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// localWebApp serves a page naming its task from busybox httpd (busybox-static, which
// scripts/test-deps.sh installs).
const localWebApp = `{"id": "/web", "instances": 2, "cpus": 0.1, "mem": 32, "portDefinitions": [{"port": 0}],
 "cmd": "mkdir -p www && echo hello-$MESOS_TASK_ID > www/index.html && exec /bin/busybox httpd -f -p $PORT0 -h www"}`

// e2eSubnet keeps the test's cluster off the addresses of a cluster a developer runs with the
// defaults.
const e2eSubnet = "127.0.77"

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildMarina builds the marina binary once per test run.
func buildMarina(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "marina-cluster-test"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "marina")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/marina-dcos/marina/cmd/marina").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
		t.Logf("built marina in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// marina runs the binary and returns its stdout, stderr and exit code.
func marina(t *testing.T, ctx context.Context, bin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("marina %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// marinaOK runs the marina binary like marina and fails the test unless it exits 0; it returns
// the standard output.
func marinaOK(t *testing.T, ctx context.Context, bin string, args ...string) string {
	t.Helper()
	out, errOut, code := marina(t, ctx, bin, args...)
	if code != 0 {
		t.Fatalf("marina %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

type statusJSON struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Healthy  bool   `json:"healthy"`
	Leader   string `json:"leader"`
	Masters  []struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		PID     int    `json:"pid"`
		Leader  bool   `json:"leader"`
		Healthy bool   `json:"healthy"`
	} `json:"masters"`
	Agents []struct {
		Name       string `json:"name"`
		Address    string `json:"address"`
		PID        int    `json:"pid"`
		Healthy    bool   `json:"healthy"`
		Registered bool   `json:"registered"`
	} `json:"agents"`
	Endpoints struct {
		Master   string `json:"master"`
		Services string `json:"services"`
	} `json:"endpoints"`
}

func status(t *testing.T, ctx context.Context, bin string, args ...string) (statusJSON, int) {
	t.Helper()
	out, errOut, code := marina(t, ctx, bin, append([]string{"status", "--json"}, args...)...)
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json (exit %d): %v\n%s\n%s", code, err, out, errOut)
	}
	return st, code
}

// TestUpFailoverDown brings a 3+3 cluster up with the real binary, creates an HTTP app with the
// CLI and scales it to 6, runs a task through the scheduler API, kills the leading master and
// watches status report a new leader while the app keeps serving, then takes the cluster down
// and checks that no process of it and no listener remains.
func TestUpFailoverDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skipf("no /bin/busybox for the test's web app (scripts/test-deps.sh installs busybox-static): %v", err)
	}
	bin := buildMarina(t)
	state := t.TempDir()
	name := fmt.Sprintf("e2e-%d", os.Getpid())
	common := []string{"--state-dir", state, "--name", name}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	spec := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(spec, []byte("provider:\n  name: local\n  settings:\n    subnet: "+e2eSubnet+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	downAtCleanup(t, bin, common)

	start := time.Now()
	out, errOut, code := marina(t, ctx, bin, append([]string{"up", "-f", spec, "--masters", "3", "--agents", "3"}, common...)...)
	upTime := time.Since(start)
	if code != 0 {
		t.Fatalf("marina up: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("marina up (3 masters, 3 agents) took %v:\n%s", upTime.Round(time.Millisecond), out)
	for _, w := range []string{"✓ wait for the services leader", "/console/", "/ui/", "client:    " + filepath.Join(state, "config.json")} {
		if !strings.Contains(out, w) {
			t.Errorf("marina up does not print %q", w)
		}
	}

	st, code := status(t, ctx, bin, common...)
	if code != 0 || !st.Healthy || len(st.Masters) != 3 || len(st.Agents) != 3 || st.Provider != "local" {
		t.Fatalf("status (exit %d): %+v", code, st)
	}
	// up returned once the services role leads: every instance names the leader at once.
	for _, m := range st.Masters {
		host, _, _ := net.SplitHostPort(m.Address)
		mc, err := marathon.New(marathon.Config{URLs: []string{"http://" + net.JoinHostPort(host, "8080")}})
		if err != nil {
			t.Fatal(err)
		}
		if leader, err := mc.Leader(ctx); err != nil || leader == "" {
			t.Errorf("services on %s right after up: leader %q, %v", m.Name, leader, err)
		}
	}
	oldLeader := -1
	for i, m := range st.Masters {
		if m.Leader {
			oldLeader = i
		}
	}
	if oldLeader < 0 || st.Endpoints.Master != "http://"+st.Masters[oldLeader].Address || st.Endpoints.Services == "" {
		t.Fatalf("no leader in %+v", st)
	}
	for _, a := range st.Agents {
		if !a.Healthy || !a.Registered {
			t.Fatalf("agent %s: %+v", a.Name, a)
		}
	}
	// A second up of the healthy cluster reports it as it is.
	if out, errOut, code := marina(t, ctx, bin, append([]string{"up"}, common...)...); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second up: exit %d\n%s%s", code, out, errOut)
	}

	// An HTTP app through the CLI, as a user would: create, serve, scale to 6.
	api := []string{"--state-dir", state, "--cluster", name}
	webDef := filepath.Join(t.TempDir(), "web.json")
	if err := os.WriteFile(webDef, []byte(localWebApp), 0o600); err != nil {
		t.Fatal(err)
	}
	marinaOK(t, ctx, bin, append([]string{"app", "create", "-f", webDef, "--wait"}, api...)...)
	mc, err := marathon.New(marathon.Config{URLs: []string{st.Endpoints.Services}})
	if err != nil {
		t.Fatal(err)
	}
	serving(t, ctx, mc, "/web", 2)
	marinaOK(t, ctx, bin, append([]string{"app", "scale", "/web", "6", "--wait"}, api...)...)
	web := serving(t, ctx, mc, "/web", 6)

	var masters []string
	for _, m := range st.Masters {
		masters = append(masters, "http://"+m.Address)
	}
	runTask(t, ctx, masters)
	tasks := taskProcesses(t, filepath.Join(state, name, "nodes"))
	if len(tasks) == 0 {
		t.Fatal("the running task's supervisor recorded no processes")
	}

	// Fail the leader over.
	killed := st.Masters[oldLeader]
	if err := syscall.Kill(killed.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	var failover time.Duration
	for {
		st, _ = status(t, ctx, bin, common...)
		if st.Leader != "" && st.Leader != "http://"+killed.Address {
			failover = time.Since(killedAt)
			break
		}
		if time.Since(killedAt) > 20*time.Second {
			t.Fatalf("no new leader 20s after kill -9 of %s: %+v", killed.Name, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("failover: status reports new leader %s %.2fs after kill -9 of leader %s\n", st.Leader, failover.Seconds(), killed.Name)
	for _, addr := range web {
		if err := get(ctx, addr, "hello-"); err != nil {
			t.Errorf("the app stopped serving after the failover: %v", err)
		}
	}
	if _, code := status(t, ctx, bin, common...); code != 2 {
		t.Errorf("status of a cluster with a dead master: exit %d, want 2", code)
	}

	var pids []int
	for _, m := range st.Masters {
		pids = append(pids, m.PID)
	}
	for _, a := range st.Agents {
		pids = append(pids, a.PID)
	}
	pids = append(pids, tasks...)
	start = time.Now()
	out, errOut, code = marina(t, ctx, bin, append([]string{"down"}, common...)...)
	downTime := time.Since(start)
	if code != 0 {
		t.Fatalf("marina down: exit %d\n%s%s", code, out, errOut)
	}
	fmt.Printf("marina up 3+3: %.2fs; marina down: %.2fs\n", upTime.Seconds(), downTime.Seconds())
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d of the cluster survived down", pid)
		}
	}
	for _, host := range append(hosts(3, 2), hosts(3, 11)...) {
		for _, port := range []int{5050, 5051, 8080, 2379, 2380} {
			addr := net.JoinHostPort(host, strconv.Itoa(port))
			if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				c.Close()
				t.Errorf("%s still listens after down", addr)
			}
		}
	}
	for _, addr := range web {
		if listening(addr) {
			t.Errorf("the app's task at %s still listens after down", addr)
		}
	}
	if _, err := os.Stat(filepath.Join(state, name)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state dir remains: %v", err)
	}
	if out, _, code := marina(t, ctx, bin, append([]string{"down"}, common...)...); code != 0 || !strings.Contains(out, "does not exist") {
		t.Errorf("second down: exit %d: %s", code, out)
	}
	if _, _, code := marina(t, ctx, bin, append([]string{"status"}, common...)...); code == 0 {
		t.Error("status of a missing cluster exits 0")
	}
}

func hosts(n, first int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s.%d", e2eSubnet, first+i))
	}
	return out
}

// runTask launches a long-running command task through the scheduler API and waits until it
// runs.
func runTask(t *testing.T, ctx context.Context, masters []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	timeout := 60.0
	cl := scheduler.New(scheduler.Config{Masters: masters, Framework: mesos.FrameworkInfo{User: "root", Name: "e2e", FailoverTimeout: &timeout}})
	s, err := cl.Subscribe(ctx)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer s.Close()
	launched := false
	for ev := range s.Events {
		switch ev.Type {
		case mesos.EventOffers:
			for _, o := range ev.Offers.Offers {
				if launched {
					_ = s.Decline(ctx, []mesos.ID{o.ID}, nil)
					continue
				}
				launched = true
				cmd := "sleep 600 & sleep 600"
				task := mesos.TaskInfo{
					Name: "sleeper", TaskID: mesos.ID{Value: "sleeper"}, AgentID: o.AgentID,
					Command:   &mesos.CommandInfo{Value: &cmd},
					Resources: mesos.Resources{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)},
				}
				op := mesos.Operation{Type: mesos.OperationLaunch, Launch: &mesos.Launch{TaskInfos: []mesos.TaskInfo{task}}}
				if err := s.Accept(ctx, []mesos.ID{o.ID}, []mesos.Operation{op}, nil); err != nil {
					t.Fatalf("launch: %v", err)
				}
			}
		case mesos.EventUpdate:
			st := ev.Update.Status
			_ = s.Acknowledge(ctx, st)
			if st.State == mesos.TaskRunning {
				return
			}
			if st.State.Terminal() {
				t.Fatalf("task ended: %+v", st)
			}
		}
	}
	t.Fatalf("event stream ended before the task ran: %v", s.Err())
}

// taskProcesses returns the pids of the supervisors and task processes recorded under the
// agents' work dirs.
func taskProcesses(t *testing.T, nodesDir string) []int {
	t.Helper()
	var pids []int
	pgids := map[int]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(pgids) == 0 && time.Now().Before(deadline) {
		_ = filepath.WalkDir(nodesDir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == supervisor.PIDFile {
				if info, err := supervisor.ReadPID(filepath.Dir(path)); err == nil {
					pids = append(pids, info.PID)
				}
				if pg := supervisor.ReadPGID(filepath.Dir(path)); pg > 0 {
					pgids[pg] = true
				}
			}
			return nil
		})
		time.Sleep(20 * time.Millisecond)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pg, err := syscall.Getpgid(pid); err == nil && pgids[pg] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
