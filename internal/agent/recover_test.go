package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// waitScript exits 0 once the file "go" appears in its sandbox.
const waitScript = "while [ ! -e go ]; do sleep 0.02; done; exit 0"

func release(t *testing.T, dir, fw, task string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "sandboxes", fw, task, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitRegisters(t *testing.T, fm *fakeMaster, n int) mesos.AgentRegister {
	t.Helper()
	testutil.WaitFor(t, wait, func() error {
		if fm.registerCount() < n {
			return errors.New("not re-registered")
		}
		return nil
	})
	return fm.lastRegister()
}

func taskStateDir(dir, fw, task string) string {
	return filepath.Join(dir, "meta", "frameworks", fw, "tasks", task, executorDir)
}

// TestRecoveryAcrossAgentInstances stops an agent (Close leaves tasks running, as a crash
// would) and starts another on the same work dir.
func TestRecoveryAcrossAgentInstances(t *testing.T) {
	t.Run("running task exits later", func(t *testing.T) {
		fm := newFakeMaster(t)
		dir := t.TempDir()
		killTasks(t, dir)
		a1 := newTestAgent(t, fm, dir)
		waitRegistered(t, a1)
		fm.launch("fw", shellTask("t", waitScript))
		fm.waitUpdate("t", mesos.TaskRunning, wait)
		a1.Close()

		a2 := newTestAgent(t, fm, dir)
		reg := waitRegisters(t, fm, 2)
		if reg.Info.ID == nil || reg.Info.ID.Value != "M-S0" || len(reg.Tasks) != 1 ||
			reg.Tasks[0].State != mesos.TaskRunning || reg.Tasks[0].Status == nil || len(reg.Frameworks) != 1 {
			t.Fatalf("re-registration = %+v", reg)
		}
		waitRegistered(t, a2)
		release(t, dir, "fw", "t")
		fm.waitUpdate("t", mesos.TaskFinished, wait)
		if got := fm.states("t"); len(got) != 2 {
			t.Fatalf("states = %v", got)
		}
	})

	t.Run("task exits while no agent runs", func(t *testing.T) {
		fm := newFakeMaster(t)
		dir := t.TempDir()
		killTasks(t, dir)
		a1 := newTestAgent(t, fm, dir)
		waitRegistered(t, a1)
		fm.launch("fw", shellTask("t", waitScript))
		fm.waitUpdate("t", mesos.TaskRunning, wait)
		a1.Close()
		release(t, dir, "fw", "t")
		testutil.WaitFor(t, wait, func() error {
			if !supervisor.HasExit(taskStateDir(dir, "fw", "t")) {
				return errors.New("no exit recorded")
			}
			return nil
		})
		newTestAgent(t, fm, dir)
		fm.waitUpdate("t", mesos.TaskFinished, wait)
	})

	t.Run("supervisor dies while no agent runs", func(t *testing.T) {
		fm := newFakeMaster(t)
		dir := t.TempDir()
		killTasks(t, dir)
		a1 := newTestAgent(t, fm, dir)
		waitRegistered(t, a1)
		fm.launch("fw", shellTask("t", "sleep 600"))
		fm.waitUpdate("t", mesos.TaskRunning, wait)
		a1.Close()
		pid, err := supervisor.ReadPID(taskStateDir(dir, "fw", "t"))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		newTestAgent(t, fm, dir)
		u := fm.waitUpdate("t", mesos.TaskFailed, wait)
		if u.Status.Reason != mesos.ReasonExecutorTerminated {
			t.Fatalf("update = %+v", u.Status)
		}
	})

	t.Run("unacknowledged updates survive", func(t *testing.T) {
		fm := newFakeMaster(t)
		fm.autoAck = false
		dir := t.TempDir()
		killTasks(t, dir)
		a1 := newTestAgent(t, fm, dir)
		waitRegistered(t, a1)
		fm.launch("fw", shellTask("t", "true"))
		run := fm.waitUpdate("t", mesos.TaskRunning, wait)
		testutil.WaitFor(t, wait, func() error {
			a1.mu.Lock()
			defer a1.mu.Unlock()
			if tk := a1.tasks[taskKey{"fw", "t"}]; tk == nil || len(tk.pending) != 2 {
				return errors.New("FINISHED not queued yet")
			}
			return nil
		})
		a1.Close()
		before := fm.countUUID(run.Status.UUID)

		newTestAgent(t, fm, dir)
		reg := waitRegisters(t, fm, 2)
		if len(reg.Tasks) != 1 || reg.Tasks[0].State != mesos.TaskFinished {
			t.Fatalf("re-registration tasks = %+v", reg.Tasks)
		}
		testutil.WaitFor(t, wait, func() error {
			if fm.countUUID(run.Status.UUID) <= before {
				return errors.New("RUNNING not resent")
			}
			return nil
		})
		fm.set(func(fm *fakeMaster) { fm.autoAck = true })
		fm.ack(run)
		fm.waitUpdate("t", mesos.TaskFinished, wait)
		testutil.WaitFor(t, wait, func() error {
			if _, err := os.Stat(filepath.Join(dir, "meta", "frameworks", "fw")); err == nil {
				return errors.New("checkpoint still there")
			}
			return nil
		})
	})

	t.Run("kill interrupted by a restart completes", func(t *testing.T) {
		fm := newFakeMaster(t)
		dir := t.TempDir()
		killTasks(t, dir)
		a1 := newTestAgent(t, fm, dir)
		waitRegistered(t, a1)
		fm.launch("fw", shellTask("t", "trap '' TERM; echo trapped; while :; do sleep 0.05; done"))
		fm.waitUpdate("t", mesos.TaskRunning, wait)
		waitTrapped(t, dir, "t")
		fm.kill("fw", "t", time.Hour)
		fm.waitUpdate("t", mesos.TaskKilling, wait)
		a1.Close()
		// The next agent re-issues the kill; shorten its grace so the test need not wait.
		var rec taskRecord
		p := filepath.Join(dir, "meta", "frameworks", "fw", "tasks", "t", taskFile)
		if err := readJSON(p, &rec); err != nil || !rec.KillRequested {
			t.Fatalf("kill not checkpointed: %+v %v", rec, err)
		}
		rec.KillGrace = 100 * time.Millisecond
		if err := writeJSON(p, rec); err != nil {
			t.Fatal(err)
		}
		newTestAgent(t, fm, dir)
		fm.waitUpdate("t", mesos.TaskKilled, wait)
	})
}

// childEnv makes the test binary run an agent (see maybeRunChildAgent).
const childEnv = "MARINA_AGENT_TEST_CHILD"

type childConfig struct {
	Master string `json:"master"`
	Dir    string `json:"dir"`
}

// maybeRunChildAgent runs an agent until killed when the test binary is started as one.
func maybeRunChildAgent() {
	p := os.Getenv(childEnv)
	if p == "" {
		return
	}
	var c childConfig
	if err := json.Unmarshal([]byte(p), &c); err != nil {
		panic(err)
	}
	res, _ := mesos.ParseResources("cpus:2;mem:1024;disk:2048;ports:[31000-31009]")
	a, err := New(Config{
		Masters: []string{c.Master}, Listen: "127.0.0.1:0", Hostname: "agent-host", WorkDir: c.Dir,
		Resources: res, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HeartbeatInterval: 100 * time.Millisecond, Timeout: time.Second, Containerizers: []string{"process"},
	})
	if err != nil {
		panic(err)
	}
	a.cgroups = cgroups.Disabled("test child")
	a.updateBackoffMin, a.updateBackoffMax = 50*time.Millisecond, 200*time.Millisecond
	if err := a.Start(t0()); err != nil {
		panic(err)
	}
	select {}
}

// TestKill9 runs the agent in a child process, kills it with SIGKILL while a task runs, and
// checks that a new agent on the same work dir finds the task running and reports its exit.
func TestKill9(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	cfg, _ := json.Marshal(childConfig{Master: fm.URL(), Dir: dir})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("child agent log:\n%s", logs.String())
		}
	})
	waitRegisters(t, fm, 1)
	fm.launch("fw", shellTask("t", waitScript))
	fm.waitUpdate("t", mesos.TaskRunning, wait)

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true
	pgid := supervisor.ReadPGID(taskStateDir(dir, "fw", "t"))
	if pgid == 0 || syscall.Kill(-pgid, 0) != nil {
		t.Fatal("task did not survive the agent")
	}

	a := newTestAgent(t, fm, dir)
	reg := waitRegisters(t, fm, 2)
	if len(reg.Tasks) != 1 || reg.Tasks[0].State != mesos.TaskRunning {
		t.Fatalf("re-registration tasks = %+v", reg.Tasks)
	}
	waitRegistered(t, a)
	release(t, dir, "fw", "t")
	fm.waitUpdate("t", mesos.TaskFinished, wait)
}

func t0() context.Context { return context.Background() }

func TestKillTasksTearsDownAClosedAgentsTasks(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	opts := []agentOption{}
	if cg := cgroups.Detect(); cg.Enabled() {
		opts = append(opts, func(_ *Config, a *Agent) { withCgroups(a) })
	}
	a := newTestAgent(t, fm, dir, opts...)
	waitRegistered(t, a)
	fm.launch("fw", shellTask("t1", "sleep 600"), shellTask("t2", "trap '' TERM; sleep 600"))
	fm.waitUpdate("t1", mesos.TaskRunning, wait)
	fm.waitUpdate("t2", mesos.TaskRunning, wait)
	a.Close()
	var groups []proc.Info
	var cgroupDirs []string
	for _, id := range []string{"t1", "t2"} {
		sd := taskStateDir(dir, "fw", id)
		groups = append(groups, supervisor.ReadTaskGroup(sd))
		var g cgroups.Group
		if readJSON(filepath.Join(sd, "cgroup.json"), &g) == nil {
			cgroupDirs = append(cgroupDirs, g.Dirs...)
		}
	}
	if err := KillTasks(t0(), dir); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, wait, func() error {
		for _, g := range groups {
			if g.Alive() {
				return errors.New("task still running")
			}
		}
		return nil
	})
	for _, d := range cgroupDirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left", d)
		}
	}
}
