package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/executor/executortest"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	maybeRunChildExecutor()
	os.Exit(m.Run())
}

func newExecutor(t *testing.T, cg *cgroups.Manager) *Executor {
	return newExecutorWarm(t, cg, 0)
}

// newExecutorWarm returns a started executor keeping warm idle supervisors (0: the default,
// negative: none), closed when the test ends.
func newExecutorWarm(t *testing.T, cg *cgroups.Manager, warm int) *Executor {
	ex, err := New(Config{Cgroups: cg, Warm: warm, Logger: testutil.Logger(t, "process")})
	if err != nil {
		t.Fatal(err)
	}
	ex.Start()
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

func TestConformance(t *testing.T) {
	executortest.Run(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return newExecutor(t, nil) },
	})
}

// TestConformanceCold runs the suite with no supervisor kept warm: every launch starts one.
func TestConformanceCold(t *testing.T) {
	executortest.Run(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return newExecutorWarm(t, nil, -1) },
	})
}

func TestConformanceWithCgroups(t *testing.T) {
	cg := cgroups.Detect()
	if !cg.Enabled() {
		t.Skip(cg.String())
	}
	executortest.Run(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return newExecutor(t, cg) },
	})
}

// TestConformanceWithCgroupsCold runs the suite with cgroups and no warm supervisors: each
// task is put in its cgroup at the gate rather than ahead.
func TestConformanceWithCgroupsCold(t *testing.T) {
	cg := cgroups.Detect()
	if !cg.Enabled() {
		t.Skip(cg.String())
	}
	executortest.Run(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return newExecutorWarm(t, cg, -1) },
	})
}

func spec(t *testing.T, cmd string, res mesos.Resources) executor.Spec {
	dir := t.TempDir()
	s := executor.Spec{
		ContainerID: filepath.Base(dir),
		FrameworkID: "fw",
		AgentID:     "ag",
		Task:        mesos.TaskInfo{TaskID: mesos.ID{Value: "t1"}, Command: &mesos.CommandInfo{Value: &cmd}, Resources: res},
		Sandbox:     filepath.Join(dir, "sandbox"),
		StateDir:    filepath.Join(dir, "state"),
	}
	if err := os.MkdirAll(s.Sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestOOMKillIsReported(t *testing.T) {
	cg := cgroups.Detect()
	if !cg.Enabled() {
		t.Skip(cg.String())
	}
	ex := newExecutor(t, cg)
	s := spec(t, "exec dd if=/dev/zero of=/dev/null bs=128M count=1", mesos.Resources{mesos.ScalarResource(mesos.ResourceMem, 32)})
	c, err := ex.Launch(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cleanup(context.Background(), s) })
	x, err := c.Wait(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !x.OOM || x.Success() || x.String() != "Memory limit exceeded" {
		t.Fatalf("exit = %+v (%s), want OOM", x, x)
	}
}

func TestSupervisorDeathIsLost(t *testing.T) {
	ex := newExecutor(t, nil)
	s := spec(t, "sleep 600", nil)
	c, err := ex.Launch(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Started(ctx(t)); err != nil {
		t.Fatal(err)
	}
	pgid := supervisor.ReadPGID(s.StateDir)
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	pid, err := supervisor.ReadPID(s.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	x, err := c.Wait(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !x.Lost || x.String() != "Executor terminated" {
		t.Fatalf("exit = %+v, want lost", x)
	}
	// The orphaned task is still in its group: a kill reaches it through the recorded pgid.
	if err := c.Kill(ctx(t), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if err := syscall.Kill(-pgid, 0); err == nil {
			return os.ErrExist
		}
		return nil
	})
}

func TestEnv(t *testing.T) {
	s := executor.Spec{
		FrameworkID: "fw", AgentID: "ag", Hostname: "h", Sandbox: "/sb",
		Task: mesos.TaskInfo{
			TaskID: mesos.ID{Value: "t"},
			Resources: mesos.Resources{
				mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: 5, End: 6}),
				mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: 2, End: 2}),
			},
			Command: &mesos.CommandInfo{Environment: &mesos.Environment{Variables: []mesos.EnvVar{
				{Name: "PORT0", Value: "80"}, {Name: "HOME", Value: "/task"}, {Name: "SECRET", Type: "SECRET"},
			}}},
		},
	}
	got := Env([]string{"HOME=/root", "PATH=/bin", "junk"}, s)
	want := []string{"HOME=/task", "PATH=/bin", "MESOS_TASK_ID=t", "MESOS_FRAMEWORK_ID=fw", "MESOS_AGENT_ID=ag",
		"MESOS_SANDBOX=/sb", "MESOS_DIRECTORY=/sb", "HOST=h", "PORT0=80", "PORT1=6", "PORT2=2", "PORTS=5,6,2"}
	if !slices.Equal(got, want) {
		t.Fatalf("env =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLimitsOf(t *testing.T) {
	tests := []struct {
		res  string
		want cgroups.Limits
	}{
		{"cpus:0.5;mem:128", cgroups.Limits{MemoryBytes: 128 << 20, CPUs: 0.5}},
		{"disk:10", cgroups.Limits{}},
	}
	for _, tt := range tests {
		rs, err := mesos.ParseResources(tt.res)
		if err != nil {
			t.Fatal(err)
		}
		if got := LimitsOf(rs); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.res, got, tt.want)
		}
	}
}

// waitIdle waits until ex keeps n idle supervisors, and returns them.
func waitIdle(t *testing.T, ex *Executor, n int) []proc.Info {
	t.Helper()
	var idle []proc.Info
	testutil.WaitFor(t, 20*time.Second, func() error {
		idle = ex.pool.Load().pids()
		if len(idle) < n {
			return fmt.Errorf("%d idle supervisors, want %d", len(idle), n)
		}
		return nil
	})
	return idle
}

func TestWarmSupervisorTakesTheLaunch(t *testing.T) {
	ex := newExecutorWarm(t, nil, 2)
	idle := waitIdle(t, ex, 2)
	s := spec(t, "exit 0", nil)
	c, err := ex.Launch(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cleanup(context.Background(), s) })
	pid := int(*c.Status().ExecutorPID)
	if pid != idle[0].PID {
		t.Fatalf("supervisor %d, want the oldest idle one %d", pid, idle[0].PID)
	}
	if x, err := c.Wait(ctx(t)); err != nil || !x.Success() {
		t.Fatalf("wait = %+v, %v", x, err)
	}
	// The pool refills.
	testutil.WaitFor(t, 20*time.Second, func() error {
		now := ex.pool.Load().pids()
		if len(now) < 2 || slices.ContainsFunc(now, func(p proc.Info) bool { return p.PID == pid }) {
			return fmt.Errorf("idle supervisors %v", now)
		}
		return nil
	})
}

func TestCloseStopsIdleSupervisors(t *testing.T) {
	ex := newExecutorWarm(t, nil, 2)
	idle := waitIdle(t, ex, 2)
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range idle {
		if _, err := proc.ReadStat(p.PID); err == nil {
			t.Errorf("idle supervisor %d left after Close", p.PID)
		}
	}
	// Launching still works, starting a supervisor for the task.
	s := spec(t, "exit 3", nil)
	c, err := ex.Launch(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cleanup(context.Background(), s) })
	if x, err := c.Wait(ctx(t)); err != nil || x.Code != 3 {
		t.Fatalf("wait = %+v, %v", x, err)
	}
}

// childEnv makes the test binary keep an executor's warm pool and print its supervisors.
const childEnv = "MARINA_PROCESS_TEST_CHILD"

func maybeRunChildExecutor() {
	if os.Getenv(childEnv) == "" {
		return
	}
	ex, err := New(Config{Warm: 2})
	if err != nil {
		panic(err)
	}
	ex.Start()
	for deadline := time.Now().Add(20 * time.Second); len(ex.pool.Load().pids()) < 2; {
		if time.Now().After(deadline) {
			panic("no idle supervisors")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := json.NewEncoder(os.Stdout).Encode(ex.pool.Load().pids()); err != nil {
		panic(err)
	}
	select {}
}

// TestIdleSupervisorsExitWithTheAgent kills a process holding a warm pool, as a kill -9 of the
// agent would, and checks that its idle supervisors go too.
func TestIdleSupervisorsExitWithTheAgent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var idle []proc.Info
	if err := json.NewDecoder(out).Decode(&idle); err != nil {
		t.Fatal(err)
	}
	if len(idle) != 2 || !idle[0].Alive() || !idle[1].Alive() {
		t.Fatalf("idle supervisors %+v", idle)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	testutil.WaitFor(t, 20*time.Second, func() error {
		for _, p := range idle {
			if p.Alive() {
				return fmt.Errorf("idle supervisor %d still running", p.PID)
			}
		}
		return nil
	})
}

// TestCgroupHoldsTheTaskNotTheSupervisor checks that the task runs in its cgroup (its first
// child too), and the supervisor outside it.
func TestCgroupHoldsTheTaskNotTheSupervisor(t *testing.T) {
	cg := cgroups.Detect()
	if !cg.Enabled() {
		t.Skip(cg.String())
	}
	ex := newExecutor(t, cg)
	s := spec(t, "cat /proc/self/cgroup > cgroup; exec sleep 600", mesos.Resources{mesos.ScalarResource(mesos.ResourceMem, 64)})
	c, err := ex.Launch(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Kill(context.Background(), 0)
		_ = ex.Cleanup(context.Background(), s)
	})
	if err := c.Started(ctx(t)); err != nil {
		t.Fatal(err)
	}
	mine := "/marina/" + filepath.Base(LoadGroup(s.StateDir).Dirs[0])
	var task []byte
	testutil.WaitFor(t, 10*time.Second, func() error {
		task, _ = os.ReadFile(filepath.Join(s.Sandbox, "cgroup"))
		if len(task) == 0 {
			return errors.New("no cgroup written yet")
		}
		return nil
	})
	if !strings.Contains(string(task), mine) {
		t.Errorf("task cgroups:\n%s\nwant %s", task, mine)
	}
	sup, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", *c.Status().ExecutorPID))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sup), mine) {
		t.Errorf("supervisor in the task's cgroup:\n%s", sup)
	}
}

// TestWarmTaskIsConfinedAhead checks that with cgroups a warm supervisor's task is the process
// it put in its cgroup while idle, let run by the launch itself, in the cgroup recorded for the
// container, and that the supervisor takes it over (its started marker).
func TestWarmTaskIsConfinedAhead(t *testing.T) {
	cg := cgroups.Detect()
	if !cg.Enabled() {
		t.Skip(cg.String())
	}
	ex := newExecutorWarm(t, cg, 1)
	var ahead string
	testutil.WaitFor(t, 20*time.Second, func() error {
		p := ex.pool.Load()
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.idle) == 0 {
			return errors.New("no idle supervisor yet")
		}
		b, _ := os.ReadFile(p.idle[0].group.Procs()[0])
		if ahead = strings.TrimSpace(string(b)); ahead == "" {
			return errors.New("nothing in the idle supervisor's cgroup yet")
		}
		return nil
	})
	s := spec(t, `echo $$ > pid; cat /proc/self/cgroup > cgroup; exec sleep 600`, mesos.Resources{mesos.ScalarResource(mesos.ResourceMem, 64)})
	c, err := ex.Launch(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Kill(context.Background(), 0)
		_ = ex.Cleanup(context.Background(), s)
	})
	if !c.(*container).released {
		t.Fatal("the launch did not let the gate placed ahead run the task")
	}
	if err := c.Started(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var cgroup []byte
	testutil.WaitFor(t, 10*time.Second, func() error {
		if cgroup, _ = os.ReadFile(filepath.Join(s.Sandbox, "cgroup")); len(cgroup) == 0 {
			return errors.New("no cgroup written yet")
		}
		return nil
	})
	if pid, _ := os.ReadFile(filepath.Join(s.Sandbox, "pid")); strings.TrimSpace(string(pid)) != ahead {
		t.Errorf("task pid %s, want %s, the process placed ahead", pid, ahead)
	}
	if g := LoadGroup(s.StateDir); g == nil || !strings.Contains(string(cgroup), g.Dirs[0][strings.LastIndex(g.Dirs[0], "/marina/"):]) {
		t.Errorf("task cgroups:\n%s\nwant the one in cgroup.json, %+v", cgroup, g)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !supervisor.Started(s.StateDir) {
			return errors.New("the supervisor has not marked the task started")
		}
		return nil
	})
}

// TestArgv0IsKept runs a program under another argv[0], with and without cgroups (the gate
// cannot keep it, so the exec shim runs the program then).
func TestArgv0IsKept(t *testing.T) {
	managers := map[string]*cgroups.Manager{"without cgroups": nil}
	if cg := cgroups.Detect(); cg.Enabled() {
		managers["with cgroups"] = cg
	}
	for name, cg := range managers {
		t.Run(name, func(t *testing.T) {
			ex := newExecutor(t, cg)
			s := spec(t, "", nil)
			prog := "/bin/sh"
			s.Task.Command = &mesos.CommandInfo{Shell: new(bool), Value: &prog, Arguments: []string{"renamed", "-c", `echo "$0"`}}
			c, err := ex.Launch(ctx(t), s)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ex.Cleanup(context.Background(), s) })
			if x, err := c.Wait(ctx(t)); err != nil || !x.Success() {
				t.Fatalf("wait = %+v, %v", x, err)
			}
			if out, _ := os.ReadFile(filepath.Join(s.Sandbox, "stdout")); string(out) != "renamed\n" {
				t.Fatalf("stdout = %q, want renamed", out)
			}
		})
	}
}
