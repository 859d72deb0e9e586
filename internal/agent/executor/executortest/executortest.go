package executortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Harness adapts the suite to one executor.
type Harness struct {
	// New returns a fresh executor, which the suite closes; Recover is tested across two
	// instances.
	New func(t *testing.T) executor.Executor
	// Decorate adjusts each task before launch (a Docker executor adds its image); may be nil.
	Decorate func(*mesos.TaskInfo)
	// Timeout bounds each wait; default 20s.
	Timeout time.Duration
	// MemoryLimits says the executor enforces tasks' memory limits: the OOM test runs.
	MemoryLimits bool
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	if h.Timeout == 0 {
		h.Timeout = 20 * time.Second
	}
	t.Run("ExitZero", func(t *testing.T) { testExit(t, h, "exit 0", 0) })
	t.Run("ExitCode", func(t *testing.T) { testExit(t, h, "exit 3", 3) })
	t.Run("Environment", func(t *testing.T) { testEnv(t, h) })
	// A task that handles SIGTERM, as services do: a container's first process gets no signal
	// it has no handler for.
	t.Run("Kill", func(t *testing.T) {
		testKill(t, h, "trap 'exit 143' TERM; echo ready; sleep 600 & wait", syscall.SIGTERM)
	})
	t.Run("KillEscalates", func(t *testing.T) {
		testKill(t, h, "trap '' TERM; echo ready; while :; do sleep 0.05; done", syscall.SIGKILL)
	})
	t.Run("Output", func(t *testing.T) { testOutput(t, h) })
	t.Run("Sandbox", func(t *testing.T) { testSandbox(t, h) })
	t.Run("OOM", func(t *testing.T) { testOOM(t, h) })
	t.Run("LaunchFailure", func(t *testing.T) { testLaunchFailure(t, h) })
	t.Run("LaunchBurst", func(t *testing.T) { testLaunchBurst(t, h) })
	t.Run("Recover", func(t *testing.T) { testRecover(t, h) })
}

type env struct {
	t    *testing.T
	h    Harness
	ex   executor.Executor
	spec executor.Spec
}

func newEnv(t *testing.T, h Harness, cmd *mesos.CommandInfo) *env {
	return &env{t: t, h: h, ex: newExecutor(t, h), spec: newSpec(t, h, cmd)}
}

// newExecutor returns a fresh executor, closed when the test ends.
func newExecutor(t *testing.T, h Harness) executor.Executor {
	ex := h.New(t)
	t.Cleanup(func() {
		if err := ex.Close(); err != nil {
			t.Errorf("close executor: %v", err)
		}
	})
	return ex
}

func newSpec(t *testing.T, h Harness, cmd *mesos.CommandInfo) executor.Spec {
	dir := t.TempDir()
	id := randomID()
	task := mesos.TaskInfo{
		Name:    "t",
		TaskID:  mesos.ID{Value: "task-" + id},
		AgentID: mesos.ID{Value: "agent-1"},
		Command: cmd,
		Resources: mesos.Resources{
			mesos.ScalarResource(mesos.ResourceCPUs, 0.1),
			mesos.ScalarResource(mesos.ResourceMem, 64),
			mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: 31005, End: 31006}),
		},
	}
	if h.Decorate != nil {
		h.Decorate(&task)
	}
	spec := executor.Spec{
		ContainerID: id,
		FrameworkID: "fw-1",
		AgentID:     "agent-1",
		Hostname:    "host-1",
		Task:        task,
		Sandbox:     filepath.Join(dir, "sandbox"),
		StateDir:    filepath.Join(dir, "state"),
	}
	for _, d := range []string{spec.Sandbox, spec.StateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return spec
}

func shell(s string) *mesos.CommandInfo {
	return &mesos.CommandInfo{Value: &s}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), e.h.Timeout)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) launch() executor.Container {
	e.t.Helper()
	c, err := e.ex.Launch(e.ctx(), e.spec)
	if err != nil {
		e.t.Fatalf("launch: %v", err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Kill(ctx, 100*time.Millisecond)
		if err := e.ex.Cleanup(ctx, e.spec); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	})
	return c
}

func (e *env) wait(c executor.Container) executor.Exit {
	e.t.Helper()
	x, err := c.Wait(e.ctx())
	if err != nil {
		e.t.Fatalf("wait: %v", err)
	}
	return x
}

func testExit(t *testing.T, h Harness, cmd string, code int) {
	e := newEnv(t, h, shell(cmd))
	c := e.launch()
	if err := c.Started(e.ctx()); err != nil && !errors.Is(err, executor.ErrExited) {
		t.Fatalf("started: %v", err)
	}
	x := e.wait(c)
	if x.Code != code || x.Signal != 0 || x.Lost || x.LaunchError != "" || x.Success() != (code == 0) {
		t.Fatalf("exit = %+v, want code %d", x, code)
	}
	// Waiting again gives the same answer.
	if y := e.wait(c); y != x {
		t.Fatalf("second wait = %+v, first %+v", y, x)
	}
	if st := c.Status(); st == nil || st.ContainerID == nil || st.ContainerID.Value != e.spec.ContainerID {
		t.Fatalf("status = %+v", st)
	}
}

func testEnv(t *testing.T, h Harness) {
	cmd := shell(`echo "id=$MESOS_TASK_ID fw=$MESOS_FRAMEWORK_ID agent=$MESOS_AGENT_ID host=$HOST p0=$PORT0 p1=$PORT1 ports=$PORTS mine=$MINE"; echo oops >&2`)
	cmd.Environment = &mesos.Environment{Variables: []mesos.EnvVar{{Name: "MINE", Value: "yes"}, {Name: "PORT1", Value: "9"}}}
	e := newEnv(t, h, cmd)
	x := e.wait(e.launch())
	if !x.Success() {
		t.Fatalf("exit = %+v", x)
	}
	out, _ := os.ReadFile(filepath.Join(e.spec.Sandbox, "stdout"))
	want := "id=" + e.spec.Task.TaskID.Value + " fw=fw-1 agent=agent-1 host=host-1 p0=31005 p1=9 ports=31005,31006 mine=yes\n"
	if string(out) != want {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
	if errOut, _ := os.ReadFile(filepath.Join(e.spec.Sandbox, "stderr")); !strings.Contains(string(errOut), "oops") {
		t.Fatalf("stderr = %q", errOut)
	}
}

func testKill(t *testing.T, h Harness, cmd string, want syscall.Signal) {
	e := newEnv(t, h, shell(cmd))
	c := e.launch()
	if err := c.Started(e.ctx()); err != nil {
		t.Fatalf("started: %v", err)
	}
	// Started means the shell runs, not that it has set its trap: cmd says "ready" once it has.
	stdout := filepath.Join(e.spec.Sandbox, "stdout")
	for ctx := e.ctx(); ; {
		if out, _ := os.ReadFile(stdout); strings.Contains(string(out), "ready") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("task never said ready")
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := c.Wait(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("task ended before it was ready: %v", err)
		}
	}
	if err := c.Kill(e.ctx(), 300*time.Millisecond); err != nil {
		t.Fatalf("kill: %v", err)
	}
	x := e.wait(c)
	// A shell may exit 128+signal on behalf of its child.
	if x.Signal != want && x.Code != 128+int(want) {
		t.Fatalf("exit = %+v, want signal %v", x, want)
	}
}

func testLaunchFailure(t *testing.T, h Harness) {
	no := "/nonexistent/program"
	e := newEnv(t, h, &mesos.CommandInfo{Shell: new(bool), Value: &no, Arguments: []string{"program"}})
	c, err := e.ex.Launch(e.ctx(), e.spec)
	if err != nil {
		// Refusing at once is conformant.
		if !strings.Contains(err.Error(), no) {
			t.Fatalf("launch error %q does not name the program", err)
		}
		return
	}
	t.Cleanup(func() { _ = e.ex.Cleanup(context.Background(), e.spec) })
	if err := c.Started(e.ctx()); !errors.Is(err, executor.ErrExited) {
		t.Fatalf("started = %v, want ErrExited", err)
	}
	x := e.wait(c)
	if x.LaunchError == "" || x.Success() {
		t.Fatalf("exit = %+v, want a launch error", x)
	}
	if !strings.Contains(x.LaunchError, no) {
		t.Fatalf("launch error %q does not name the program", x.LaunchError)
	}
}

// testLaunchBurst launches more tasks at once than an executor is likely to keep ready.
func testLaunchBurst(t *testing.T, h Harness) {
	const n = 5
	ex := newExecutor(t, h)
	specs := make([]executor.Spec, n)
	errs := make(chan error, n)
	for i := range specs {
		specs[i] = newSpec(t, h, shell(`echo "$MESOS_TASK_ID"`))
		s := specs[i]
		t.Cleanup(func() { _ = ex.Cleanup(context.Background(), s) })
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
			defer cancel()
			c, err := ex.Launch(ctx, s)
			if err != nil {
				errs <- err
				return
			}
			if err := c.Started(ctx); err != nil && !errors.Is(err, executor.ErrExited) {
				errs <- err
				return
			}
			x, err := c.Wait(ctx)
			if err == nil && !x.Success() {
				err = errors.New(x.String())
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range specs {
		out, _ := os.ReadFile(filepath.Join(s.Sandbox, "stdout"))
		if string(out) != s.Task.TaskID.Value+"\n" {
			t.Errorf("stdout = %q, want the task's id", out)
		}
	}
}

func testRecover(t *testing.T, h Harness) {
	marker := "go"
	e := newEnv(t, h, shell(`while [ ! -e `+marker+` ]; do sleep 0.02; done; exit 7`))
	c := e.launch()
	if err := c.Started(e.ctx()); err != nil {
		t.Fatalf("started: %v", err)
	}
	// Closing the executor leaves the task running, and its handle working.
	if err := e.ex.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// A second executor instance, as after an agent restart.
	ex2 := newExecutor(t, h)
	c2, err := ex2.Recover(e.ctx(), e.spec)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if err := c2.Started(e.ctx()); err != nil {
		t.Fatalf("recovered started: %v", err)
	}
	if err := os.WriteFile(filepath.Join(e.spec.Sandbox, marker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := c2.Wait(e.ctx())
	if err != nil || x.Code != 7 {
		t.Fatalf("recovered wait = %+v, %v; want code 7", x, err)
	}
	// The original handle agrees.
	if y := e.wait(c); y.Code != 7 {
		t.Fatalf("original wait = %+v", y)
	}
	// Recovering a finished container still reports its exit.
	c3, err := newExecutor(t, h).Recover(e.ctx(), e.spec)
	if err != nil {
		t.Fatalf("recover finished: %v", err)
	}
	if z, err := c3.Wait(e.ctx()); err != nil || z.Code != 7 {
		t.Fatalf("finished recover wait = %+v, %v", z, err)
	}
	// Nothing to recover.
	empty := e.spec
	empty.StateDir = t.TempDir()
	if _, err := newExecutor(t, h).Recover(e.ctx(), empty); !errors.Is(err, executor.ErrNotFound) {
		t.Fatalf("recover nothing = %v, want ErrNotFound", err)
	}
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
