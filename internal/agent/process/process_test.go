package process

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/executor/executortest"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	os.Exit(m.Run())
}

func newExecutor(t *testing.T, cg *cgroups.Manager) *Executor {
	ex, err := New(Config{Cgroups: cg, Logger: testutil.Logger(t, "process")})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestConformance(t *testing.T) {
	executortest.Run(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return newExecutor(t, nil) },
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
