package agent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func freePort(t *testing.T) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

// httpServerTask serves the sandbox over HTTP on its port, with an HTTP health check of path
// every interval seconds.
func httpServerTask(t *testing.T, id, path string, failures uint32, interval, grace float64) mesos.TaskInfo {
	port := freePort(t)
	ti := shellTask(id, "exec python3 -m http.server $PORT0 --bind 127.0.0.1")
	ti.Resources[2] = mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: uint64(port), End: uint64(port)})
	delay, timeout := 0.0, 2.0
	ti.HealthCheck = &mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: port, Path: path},
		DelaySeconds: &delay, IntervalSeconds: &interval, TimeoutSeconds: &timeout,
		GracePeriodSeconds: &grace, ConsecutiveFailures: &failures}
	return ti
}

// healthOf returns the healthy flags of a task's distinct updates, in order ("-" for none).
func healthOf(fm *fakeMaster, task string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range fm.updatesOf(task) {
		if k := string(u.Status.UUID); !seen[k] {
			seen[k] = true
			h := "-"
			if u.Status.Healthy != nil {
				h = map[bool]string{true: "healthy", false: "unhealthy"}[*u.Status.Healthy]
			}
			out = append(out, string(u.Status.State)+" "+h)
		}
	}
	return out
}

func TestHealthChecks(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3 for its HTTP server")
	}
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)

	t.Run("healthy", func(t *testing.T) {
		fm.launch("fw", httpServerTask(t, "up", "/", 3, 0.1, 10))
		fm.waitUpdate("up", mesos.TaskRunning, wait)
		testutil.WaitFor(t, wait, func() error {
			if got := healthOf(fm, "up"); len(got) < 2 {
				return fmt.Errorf("updates = %v", got)
			}
			return nil
		})
		want := []string{"TASK_RUNNING -", "TASK_RUNNING healthy"}
		if got := healthOf(fm, "up"); !slices.Equal(got, want) {
			t.Fatalf("updates = %v, want %v", got, want)
		}
		u := fm.updatesOf("up")
		if last := u[len(u)-1].Status; last.Reason != mesos.ReasonHealthCheckFailed || last.ContainerStatus == nil {
			t.Fatalf("health update = %+v", last)
		}
		fm.kill("fw", "up", 0)
		k := fm.waitUpdate("up", mesos.TaskKilled, wait)
		if k.Status.Healthy != nil || k.Status.Message == "health check failed" {
			t.Fatalf("killed by the framework: %+v", k.Status)
		}
	})

	t.Run("failing is killed", func(t *testing.T) {
		fm.launch("fw", httpServerTask(t, "down", "/missing", 2, 0.2, 2))
		k := fm.waitUpdate("down", mesos.TaskKilled, wait)
		want := []string{"TASK_RUNNING -", "TASK_RUNNING unhealthy", "TASK_KILLING -", "TASK_KILLED unhealthy"}
		if got := healthOf(fm, "down"); !slices.Equal(got, want) {
			t.Fatalf("updates = %v, want %v", got, want)
		}
		// The grace period outlasted the server's start: the failures counted are 404s.
		for _, u := range fm.updatesOf("down") {
			if h := u.Status.Healthy; h != nil && !*h && u.Status.State == mesos.TaskRunning &&
				!strings.Contains(u.Status.Message, "status 404") {
				t.Fatalf("unhealthy update message = %q", u.Status.Message)
			}
		}
		if k.Status.Message != "health check failed" {
			t.Fatalf("KILLED message = %q", k.Status.Message)
		}
	})
}

// TestHealthCheckResumesAfterRecovery restarts the agent under a healthy task: the new agent
// checks it again without re-reporting its health, and kills it when it turns unhealthy.
func TestHealthCheckResumesAfterRecovery(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3 for its HTTP server")
	}
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a1 := newTestAgent(t, fm, dir)
	waitRegistered(t, a1)
	ti := httpServerTask(t, "svc", "/ok", 1, 0.1, 10)
	cmd := "touch ok; exec python3 -u -m http.server $PORT0 --bind 127.0.0.1"
	ti.Command.Value = &cmd
	fm.launch("fw", ti)
	testutil.WaitFor(t, wait, func() error {
		if got := healthOf(fm, "svc"); !slices.Contains(got, "TASK_RUNNING healthy") {
			return fmt.Errorf("updates = %v", got)
		}
		return nil
	})
	a1.Close()

	// The server logs each request to its stderr: a new one after the restart is the new
	// agent's check.
	sandbox := filepath.Join(dir, "sandboxes", "fw", "svc")
	logged := func() int {
		b, _ := os.ReadFile(filepath.Join(sandbox, "stderr"))
		return strings.Count(string(b), `"GET /ok HTTP/1.1" 200`)
	}
	before := logged()
	a2 := newTestAgent(t, fm, dir)
	waitRegistered(t, a2)
	testutil.WaitFor(t, wait, func() error {
		if n := logged(); n <= before {
			return fmt.Errorf("%d checks logged, %d before the restart", n, before)
		}
		return nil
	})
	if err := os.Remove(filepath.Join(sandbox, "ok")); err != nil {
		t.Fatal(err)
	}
	fm.waitUpdate("svc", mesos.TaskKilled, wait)
	want := []string{"TASK_RUNNING -", "TASK_RUNNING healthy", "TASK_RUNNING unhealthy", "TASK_KILLING -", "TASK_KILLED unhealthy"}
	if got := healthOf(fm, "svc"); !slices.Equal(got, want) {
		t.Fatalf("updates = %v, want %v", got, want)
	}
}
