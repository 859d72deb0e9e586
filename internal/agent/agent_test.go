package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	maybeRunChildAgent()
	os.Exit(m.Run())
}

const wait = 15 * time.Second

type agentOption func(*Config, *Agent)

func withCgroups(a *Agent) { a.cgroups = cgroups.Detect() }

// newTestAgent starts an agent against fm with short timings and no cgroups.
func newTestAgent(t *testing.T, fm *fakeMaster, dir string, opts ...agentOption) *Agent {
	t.Helper()
	res, err := mesos.ParseResources("cpus:2;mem:1024;disk:2048;ports:[31000-31009]")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Masters:           []string{fm.URL()},
		Listen:            "127.0.0.1:0",
		Hostname:          "agent-host",
		WorkDir:           dir,
		Resources:         res,
		Attributes:        []mesos.Attribute{{Name: "rack", Type: mesos.Text, Text: &mesos.TextValue{Value: "r1"}}},
		Logger:            testutil.Logger(t, "agent"),
		HeartbeatInterval: 100 * time.Millisecond,
		Timeout:           time.Second,
		// The docker executor has its own suite; these tests cover the agent without it.
		Containerizers: []string{"process"},
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.cgroups = cgroups.Disabled("tests run without cgroups unless they ask")
	a.updateBackoffMin, a.updateBackoffMax = 50*time.Millisecond, 200*time.Millisecond
	a.connectBackoffMin, a.connectBackoffMax = 10*time.Millisecond, 100*time.Millisecond
	for _, o := range opts {
		o(&a.cfg, a)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// killTasks kills whatever tasks under dir are still running when a test ends: Close leaves
// them running on purpose.
func killTasks(t *testing.T, dir string) {
	t.Cleanup(func() {
		if err := KillTasks(context.Background(), dir); err != nil {
			t.Errorf("kill tasks: %v", err)
		}
	})
}

func waitRegistered(t *testing.T, a *Agent) {
	t.Helper()
	select {
	case <-a.Registered():
	case <-time.After(wait):
		t.Fatal("agent did not register")
	}
}

func shellTask(id, cmd string) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name:    id,
		TaskID:  mesos.ID{Value: id},
		Command: &mesos.CommandInfo{Value: &cmd},
		Resources: mesos.Resources{
			mesos.ScalarResource(mesos.ResourceCPUs, 0.1),
			mesos.ScalarResource(mesos.ResourceMem, 32),
			mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: 31001, End: 31001}),
		},
	}
}

func TestRegisterLaunchFinish(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	if a.ID() != "M-S0" {
		t.Fatalf("id = %q", a.ID())
	}
	reg := fm.lastRegister()
	if reg.Info.ID != nil || reg.Info.Hostname != "agent-host" || reg.Info.Port == 0 || len(reg.Tasks) != 0 {
		t.Fatalf("first REGISTER = %+v", reg)
	}
	if !reg.Info.Resources.Equal(a.cfg.Resources) || len(reg.Info.Attributes) != 1 {
		t.Fatalf("REGISTER resources %v attributes %v", reg.Info.Resources, reg.Info.Attributes)
	}
	var saved string
	if err := readJSON(filepath.Join(dir, "meta", agentIDFile), &saved); err != nil || saved != "M-S0" {
		t.Fatalf("checkpointed id = %q, %v", saved, err)
	}

	fm.launch("fw1", shellTask("t1", `echo "hello $PORT0 $MESOS_TASK_ID"`))
	fin := fm.waitUpdate("t1", mesos.TaskFinished, wait)
	if got := fm.states("t1"); !slices.Equal(got, []mesos.TaskState{mesos.TaskRunning, mesos.TaskFinished}) {
		t.Fatalf("states = %v", got)
	}
	run := fm.waitUpdate("t1", mesos.TaskRunning, wait)
	if run.FrameworkID.Value != "fw1" || run.Status.AgentID == nil || run.Status.AgentID.Value != "M-S0" ||
		len(run.Status.UUID) != 16 || run.Status.Source != mesos.SourceExecutor || run.Status.Timestamp == 0 {
		t.Fatalf("RUNNING update = %+v", run)
	}
	cs := run.Status.ContainerStatus
	if cs == nil || cs.ContainerID == nil || len(cs.NetworkInfos) != 1 || cs.NetworkInfos[0].IPAddresses[0].IPAddress != "127.0.0.1" {
		t.Fatalf("container status = %+v", cs)
	}
	if fin.Status.Message != "Command exited with status 0" {
		t.Fatalf("FINISHED message = %q", fin.Status.Message)
	}
	out, err := os.ReadFile(filepath.Join(dir, "sandboxes", "fw1", "t1", "stdout"))
	if err != nil || string(out) != "hello 31001 t1\n" {
		t.Fatalf("stdout = %q, %v", out, err)
	}
	// The terminal update was acknowledged: the task leaves the checkpoint, the sandbox stays.
	testutil.WaitFor(t, wait, func() error {
		if _, err := os.Stat(filepath.Join(dir, "meta", "frameworks", "fw1")); err == nil {
			return os.ErrExist
		}
		return nil
	})
}

func TestTaskOutcomes(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	no := "/nonexistent/program"
	tests := []struct {
		name    string
		task    mesos.TaskInfo
		state   mesos.TaskState
		reason  string
		message string
	}{
		{"exit zero", shellTask("ok", "true"), mesos.TaskFinished, "", "Command exited with status 0"},
		{"exit code", shellTask("code", "exit 3"), mesos.TaskFailed, "", "Command exited with status 3"},
		{"signal", shellTask("sig", "kill -9 $$"), mesos.TaskFailed, "", "Command terminated with signal Killed"},
		{"no program", mesos.TaskInfo{TaskID: mesos.ID{Value: "noprog"}, Command: &mesos.CommandInfo{Shell: new(bool), Value: &no}},
			mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "Failed to launch task: "},
		{"no command", mesos.TaskInfo{TaskID: mesos.ID{Value: "nocmd"}},
			mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "Failed to launch task: task has no command"},
		{"docker", mesos.TaskInfo{TaskID: mesos.ID{Value: "dock"}, Container: &mesos.ContainerInfo{Type: "DOCKER"}},
			mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "No docker executor on this agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm.launch("fw", tt.task)
			u := fm.waitUpdate(tt.task.TaskID.Value, tt.state, wait)
			if u.Status.Reason != tt.reason || !strings.HasPrefix(u.Status.Message, tt.message) {
				t.Fatalf("update = %s %s %q, want %s %q", u.Status.State, u.Status.Reason, u.Status.Message, tt.reason, tt.message)
			}
		})
	}
}

func TestKill(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	tests := []struct {
		name  string
		cmd   string
		grace time.Duration
	}{
		{"cooperative", "sleep 600", 0},
		{"ignores SIGTERM", "trap '' TERM; echo trapped; while :; do sleep 0.05; done", 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-")
			fm.launch("fw", shellTask(id, tt.cmd))
			fm.waitUpdate(id, mesos.TaskRunning, wait)
			if tt.grace > 0 {
				waitTrapped(t, dir, id)
			}
			start := time.Now()
			fm.kill("fw", id, tt.grace)
			fm.waitUpdate(id, mesos.TaskKilled, wait)
			if got := fm.states(id); !slices.Equal(got, []mesos.TaskState{mesos.TaskRunning, mesos.TaskKilling, mesos.TaskKilled}) {
				t.Fatalf("states = %v", got)
			}
			if tt.grace > 0 && time.Since(start) < tt.grace {
				t.Fatalf("killed before the grace period")
			}
		})
	}
	// A duplicate launch does not disturb the task that has the id.
	fm.launch("fw", shellTask("dup", "sleep 600"))
	fm.waitUpdate("dup", mesos.TaskRunning, wait)
	fm.launch("fw", shellTask("dup", "exit 1"))
	fm.kill("fw", "dup", 0)
	fm.waitUpdate("dup", mesos.TaskKilled, wait)
	if got := fm.states("dup"); !slices.Equal(got, []mesos.TaskState{mesos.TaskRunning, mesos.TaskKilling, mesos.TaskKilled}) {
		t.Fatalf("states = %v", got)
	}
	// A kill of an unknown task is answered with a reliable TASK_LOST.
	fm.kill("fw", "ghost", 0)
	u := fm.waitUpdate("ghost", mesos.TaskLost, wait)
	if len(u.Status.UUID) != 16 || u.Status.Reason != mesos.ReasonTaskUnknown {
		t.Fatalf("ghost update = %+v", u.Status)
	}
	testutil.WaitFor(t, wait, func() error {
		if _, err := os.Stat(filepath.Join(dir, "meta", "frameworks", "fw", "tasks", "ghost")); err == nil {
			return os.ErrExist
		}
		return nil
	})
}

func TestShutdownFramework(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	fm.launch("fw", shellTask("a", "sleep 600"), shellTask("b", "sleep 600"))
	fm.launch("other", shellTask("c", "sleep 600"))
	for _, id := range []string{"a", "b", "c"} {
		fm.waitUpdate(id, mesos.TaskRunning, wait)
	}
	fm.send(mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework, ShutdownFramework: &mesos.AgentShutdown{FrameworkID: mesos.ID{Value: "fw"}}})
	fm.waitUpdate("a", mesos.TaskKilled, wait)
	fm.waitUpdate("b", mesos.TaskKilled, wait)
	if got := fm.states("c"); !slices.Equal(got, []mesos.TaskState{mesos.TaskRunning}) {
		t.Fatalf("other framework's task: %v", got)
	}
}

func TestUpdatesAreRetriedInOrderUntilAcknowledged(t *testing.T) {
	fm := newFakeMaster(t)
	fm.autoAck = false
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	fm.launch("fw", shellTask("t", "true"))
	run := fm.waitUpdate("t", mesos.TaskRunning, wait)
	// Unacknowledged, RUNNING is resent with backoff, and FINISHED waits behind it.
	testutil.WaitFor(t, wait, func() error {
		if n := fm.countUUID(run.Status.UUID); n < 3 {
			return os.ErrNotExist
		}
		return nil
	})
	if got := fm.states("t"); !slices.Equal(got, []mesos.TaskState{mesos.TaskRunning}) {
		t.Fatalf("states before ack = %v", got)
	}
	// A wrong acknowledgement changes nothing.
	wrong := run
	wrong.Status.UUID = make([]byte, 16)
	fm.ack(wrong)
	fm.ack(run)
	fin := fm.waitUpdate("t", mesos.TaskFinished, wait)
	fm.ack(fin)
	// The checkpoint goes, through the trash, which is emptied.
	testutil.WaitFor(t, wait, func() error {
		if _, err := os.Stat(filepath.Join(dir, "meta", "frameworks", "fw")); err == nil {
			return os.ErrExist
		}
		if left, _ := os.ReadDir(filepath.Join(dir, "meta", "trash")); len(left) > 0 {
			return fmt.Errorf("trash holds %d entries", len(left))
		}
		return nil
	})
	// Nothing is left to send once the last update is acknowledged.
	a.mu.Lock()
	left := len(a.pendingSet)
	a.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d tasks with pending updates", left)
	}
}

func TestReregistrationResendsUpdatesAndReportsTasks(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	fm.launch("fw", shellTask("t", "sleep 600"))
	fm.waitUpdate("t", mesos.TaskRunning, wait)
	fm.set(func(fm *fakeMaster) { fm.autoAck = false })
	fm.kill("fw", "t", 0)
	killing := fm.waitUpdate("t", mesos.TaskKilling, wait)
	fm.dropStream()
	testutil.WaitFor(t, wait, func() error {
		if fm.registerCount() < 2 {
			return os.ErrNotExist
		}
		return nil
	})
	reg := fm.lastRegister()
	if reg.Info.ID == nil || reg.Info.ID.Value != "M-S0" {
		t.Fatalf("re-registration id = %v", reg.Info.ID)
	}
	if len(reg.Tasks) != 1 || reg.Tasks[0].Task.TaskID.Value != "t" || len(reg.Frameworks) != 1 || reg.Frameworks[0].ID.Value != "fw" {
		t.Fatalf("re-registration tasks %+v frameworks %+v", reg.Tasks, reg.Frameworks)
	}
	// The unacknowledged KILLING goes again on the new stream.
	testutil.WaitFor(t, wait, func() error {
		if fm.countUUID(killing.Status.UUID) < 2 {
			return os.ErrNotExist
		}
		return nil
	})
	fm.set(func(fm *fakeMaster) { fm.autoAck = true })
	fm.ack(killing)
	fm.waitUpdate("t", mesos.TaskKilled, wait)
}

func TestSilentMasterIsLeft(t *testing.T) {
	fm := newFakeMaster(t)
	fm.silent = true
	a := newTestAgent(t, fm, t.TempDir())
	waitRegistered(t, a)
	testutil.WaitFor(t, wait, func() error {
		if fm.registerCount() < 2 {
			return os.ErrNotExist
		}
		return nil
	})
	fm.mu.Lock()
	hb := fm.heartbeats
	fm.mu.Unlock()
	if hb == 0 {
		t.Fatal("agent sent no heartbeats")
	}
}

func TestFindsLeaderThroughRedirects(t *testing.T) {
	leader := newFakeMaster(t)
	standby := newFakeMaster(t)
	down := newFakeMaster(t)
	standby.redirect = "//" + strings.TrimPrefix(leader.URL(), "http://")
	down.unavailable = true
	dir := t.TempDir()
	a := newTestAgent(t, down, dir, func(c *Config, _ *Agent) { c.Masters = []string{down.URL(), standby.URL()} })
	waitRegistered(t, a)
	if leader.registerCount() != 1 || standby.registerCount() != 0 {
		t.Fatalf("registrations: leader %d standby %d", leader.registerCount(), standby.registerCount())
	}
	// A master that stops leading redirects the stream; the agent follows.
	leader.set(func(fm *fakeMaster) { fm.redirect = "//" + strings.TrimPrefix(standby.URL(), "http://") })
	standby.set(func(fm *fakeMaster) { fm.redirect = "" })
	leader.dropStream()
	testutil.WaitFor(t, wait, func() error {
		if standby.registerCount() == 0 {
			return os.ErrNotExist
		}
		return nil
	})
}

func TestAuthToken(t *testing.T) {
	fm := newFakeMaster(t)
	fm.token = "s3cret"
	dir := t.TempDir()
	a := newTestAgent(t, fm, dir, func(c *Config, _ *Agent) { c.AuthToken = "s3cret" })
	waitRegistered(t, a)
}

func TestDisconnectAndReconnect(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	fm.launch("fw", shellTask("t", "sleep 600"))
	fm.waitUpdate("t", mesos.TaskRunning, wait)
	a.Disconnect()
	testutil.WaitFor(t, wait, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.sess != nil {
			return errors.New("session still open")
		}
		return nil
	})
	// Updates produced while cut off wait for the next registration.
	a.handleKill(&mesos.AgentKill{FrameworkID: mesos.ID{Value: "fw"}, TaskID: mesos.ID{Value: "t"}})
	testutil.WaitFor(t, wait, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if tk := a.tasks[taskKey{"fw", "t"}]; tk == nil || tk.state != mesos.TaskKilled {
			return errors.New("task not killed yet")
		}
		return nil
	})
	if n := fm.registerCount(); n != 1 {
		t.Fatalf("registrations while disconnected: %d", n)
	}
	if got := fm.states("t"); slices.Contains(got, mesos.TaskKilling) || slices.Contains(got, mesos.TaskKilled) {
		t.Fatalf("update delivered while disconnected: %v", got)
	}
	a.Reconnect()
	fm.waitUpdate("t", mesos.TaskKilled, wait)
	if n := fm.registerCount(); n != 2 {
		t.Fatalf("registrations after reconnect: %d", n)
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	fm.launch("fw", shellTask("t", "sleep 600"))
	fm.waitUpdate("t", mesos.TaskRunning, wait)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	fm.Close()
	testutil.WaitFor(t, wait, func() error {
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			return fmt.Errorf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}

func TestOOMKilledTaskFails(t *testing.T) {
	if cg := cgroups.Detect(); !cg.Enabled() {
		t.Skip(cg.String())
	}
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir, func(_ *Config, a *Agent) { withCgroups(a) })
	waitRegistered(t, a)
	fm.launch("fw", shellTask("hog", "exec dd if=/dev/zero of=/dev/null bs=128M count=1"))
	u := fm.waitUpdate("hog", mesos.TaskFailed, wait)
	if u.Status.Reason != mesos.ReasonContainerLimitation {
		t.Fatalf("update = %s %q", u.Status.Reason, u.Status.Message)
	}
}

// waitTrapped waits until task id of framework "fw" has said "trapped" on its stdout: RUNNING
// means its shell started, not that it has set its trap yet.
func waitTrapped(t *testing.T, dir, id string) {
	t.Helper()
	stdout := filepath.Join(dir, "sandboxes", "fw", id, "stdout")
	testutil.WaitFor(t, wait, func() error {
		out, err := os.ReadFile(stdout)
		if err == nil && !strings.Contains(string(out), "trapped") {
			err = errors.New("trap not set yet")
		}
		return err
	})
}

// What an earlier agent left in the trash is removed when the next one starts.
func TestStartEmptiesTrash(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, "meta", "trash", "7", executorDir)
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	newTestAgent(t, newFakeMaster(t), dir)
	if entries, err := os.ReadDir(filepath.Join(dir, "meta", "trash")); err != nil || len(entries) > 0 {
		t.Fatalf("trash after start: %v entries, err %v", len(entries), err)
	}
}
