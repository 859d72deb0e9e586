package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/agent/internal/launchtrace"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Name is the executor's name in checkpoints.
const Name = "process"

// cgroupFile holds a container's cgroup in its state directory.
const cgroupFile = "cgroup.json"

// Config configures the command executor.
type Config struct {
	// Path is the program started as supervisor; it must call supervisor.MaybeRun first.
	// Default: os.Executable().
	Path string
	// Cgroups confines tasks; nil or disabled runs them without limits.
	Cgroups *cgroups.Manager
	// Env is the environment tasks start from, before the Mesos variables and the task's own.
	// Default: the agent's environment without MARINA_* variables.
	Env []string
	// Warm is how many idle supervisors Start keeps ready for launches; 0 means DefaultWarm,
	// a negative number none (every launch then starts its own).
	Warm   int
	Logger *slog.Logger
}

// Executor is the command executor.
type Executor struct {
	cfg Config
	log *slog.Logger

	pool      atomic.Pointer[pool] // nil before Start, or without a pool
	startOnce sync.Once
	closeOnce sync.Once
}

var _ executor.Executor = (*Executor)(nil)

// New returns a command executor.
func New(cfg Config) (*Executor, error) {
	if cfg.Path == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("process executor: %w", err)
		}
		cfg.Path = p
	}
	if cfg.Env == nil {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MARINA_") {
				cfg.Env = append(cfg.Env, kv)
			}
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Warm == 0 {
		cfg.Warm = DefaultWarm
	}
	return &Executor{cfg: cfg, log: cfg.Logger}, nil
}

// Start starts keeping Config.Warm idle supervisors ready. Without it, or after Close, each
// launch starts its supervisor, which works the same, only slower. Start is idempotent.
func (e *Executor) Start() {
	e.startOnce.Do(func() {
		if e.cfg.Warm > 0 {
			e.pool.Store(newPool(e, e.cfg.Warm))
		}
	})
}

// Close stops the idle supervisors; tasks keep running. Close is idempotent.
func (e *Executor) Close() error {
	e.closeOnce.Do(func() {
		e.startOnce.Do(func() {}) // no pool after Close
		if p := e.pool.Swap(nil); p != nil {
			p.close()
		}
	})
	return nil
}

// Name returns "process".
func (e *Executor) Name() string { return Name }

// Launch hands the task to a supervisor: an idle one from the pool when there is one, else one
// started for it.
func (e *Executor) Launch(ctx context.Context, spec executor.Spec) (executor.Container, error) {
	if spec.Task.Command == nil {
		return nil, errors.New("task has no command")
	}
	if err := os.MkdirAll(spec.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	for {
		m := e.pool.Load().take()
		c, err := e.launchOn(ctx, spec, m)
		if errors.Is(err, errDiedIdle) {
			e.log.Warn("warm supervisor died idle", "pid", m.info.PID)
			continue
		}
		return c, err
	}
}

// errDiedIdle says that the idle supervisor taken for a launch is gone: take another.
var errDiedIdle = errors.New("warm supervisor died idle")

// launchOn launches spec's task under member m, or under a supervisor started for it when m
// is nil.
func (e *Executor) launchOn(ctx context.Context, spec executor.Spec, m *member) (*container, error) {
	taskID := spec.Task.TaskID.Value
	group, err := e.confine(spec, m)
	fail := func(err error) (*container, error) {
		if m != nil {
			m.launched()
			m.discard()
		}
		_ = group.Destroy(ctx)
		_ = os.Remove(filepath.Join(spec.StateDir, supervisor.RunScript))
		return nil, err
	}
	if err != nil {
		if m != nil && m.group != nil {
			// The member's cgroup is gone or unusable (its gate died idle and the cgroup was
			// pruned, say): another member, or a cgroup made for the task, may do.
			e.log.Warn("warm supervisor's cgroup unusable", "pid", m.info.PID, "err", err)
			_, _ = fail(err)
			return nil, errDiedIdle
		}
		return fail(err)
	}
	if group != nil {
		b, _ := json.Marshal(group)
		// Not synced: after a machine crash the cgroup is gone too.
		if err := fsutil.Replace(filepath.Join(spec.StateDir, cgroupFile), b, 0o600); err != nil {
			return fail(err)
		}
		launchtrace.Mark(taskID, launchtrace.Confined)
	}
	cmdInfo := spec.Task.Command
	sspec := supervisor.Spec{
		TaskID:      taskID,
		Sandbox:     spec.Sandbox,
		Shell:       cmdInfo.IsShell(),
		Arguments:   cmdInfo.Arguments,
		Env:         Env(e.cfg.Env, spec),
		CgroupProcs: group.Procs(),
	}
	if cmdInfo.Value != nil {
		sspec.Value = *cmdInfo.Value
	}
	specPath, err := supervisor.WriteSpec(spec.StateDir, sspec)
	if err != nil {
		return fail(err)
	}
	cold := m == nil
	if cold {
		launchtrace.Mark(taskID, launchtrace.Cold)
		if m, err = e.spawn(nil, taskID); err != nil {
			return fail(fmt.Errorf("start supervisor: %w", err))
		}
	}
	// Recorded before the handover: from then on the supervisor may outlive this agent, and the
	// next agent must find it.
	if err := supervisor.WritePID(spec.StateDir, m.info); err != nil {
		e.log.Warn("record supervisor pid", "task", taskID, "err", err)
	}
	released := releaseGate(spec.StateDir, sspec, m)
	if err := m.hand(specPath); err != nil {
		if cold {
			return fail(fmt.Errorf("start supervisor: %w", err))
		}
		_, _ = fail(err)
		return nil, errDiedIdle
	}
	e.log.Debug("supervisor started", "task", taskID, "container", spec.ContainerID, "pid", m.info.PID)
	return &container{spec: spec, sup: m.info, group: group, notify: m.started, launched: m.launched, released: released}, nil
}

// releaseGate lets member m's gate, the task's process started ahead, run the task when it is
// in the task's cgroup: it records the gate as the task's process group, writes the script that
// runs the command and writes its path to the gate, before the supervisor has its spec (which
// then leaves the task to the gate: see supervisor.RunScript). It reports whether it did. Either
// way it closes the member's end of the gate's pipe, so that a gate not let run ends.
func releaseGate(dir string, spec supervisor.Spec, m *member) bool {
	if m.gate == nil {
		return false
	}
	defer m.closeGate()
	pid := supervisor.GatePID(spec.CgroupProcs)
	if pid == 0 {
		return false
	}
	info, err := proc.Of(pid)
	if err != nil || supervisor.WriteTaskGroup(dir, info) != nil {
		return false
	}
	script, err := supervisor.WriteRunScript(dir, spec)
	if err != nil {
		return false // the supervisor starts the task, or says why it cannot
	}
	if _, err := m.gate.Write([]byte(script + "\n")); err != nil {
		_ = os.Remove(script)
		return false
	}
	return true
}

// confine returns the task's cgroup, nil without cgroups: the one member m was started with,
// limited for the task, or one made for the task. The member's keeps its name (warm-...):
// renaming a cgroup takes the kernel's cgroup mutex, which the pool's refill holds through an
// RCU grace period while it moves a new supervisor's gate into its cgroup. cgroup.json in the
// state directory names the container's cgroup either way.
func (e *Executor) confine(spec executor.Spec, m *member) (*cgroups.Group, error) {
	if !e.cfg.Cgroups.Enabled() {
		return nil, nil
	}
	l := LimitsOf(spec.Task.Resources)
	if m == nil || m.group == nil {
		return e.cfg.Cgroups.Create(spec.ContainerID, l)
	}
	if err := m.group.Limit(l); err != nil {
		return nil, err
	}
	return m.group, nil
}

// Recover re-attaches to a container from its state directory.
func (e *Executor) Recover(ctx context.Context, spec executor.Spec) (executor.Container, error) {
	c := &container{spec: spec, group: LoadGroup(spec.StateDir)}
	info, err := supervisor.ReadPID(spec.StateDir)
	switch {
	case err == nil:
		c.sup = info
	case errors.Is(err, os.ErrNotExist):
		if !fsutil.Exists(filepath.Join(spec.StateDir, supervisor.SpecFile)) {
			return nil, executor.ErrNotFound
		}
		// The supervisor may have died before recording itself: without a pid it is lost.
	default:
		return nil, err
	}
	return c, nil
}

// Cleanup kills what is left of the task (its process group, which outlives a supervisor that
// died, and its cgroup) and removes the cgroup.
func (e *Executor) Cleanup(ctx context.Context, spec executor.Spec) error {
	signalGroup(spec.StateDir, syscall.SIGKILL)
	return LoadGroup(spec.StateDir).Destroy(ctx)
}

// Destroy kills a container from its state directory alone, whatever runs it: its supervisor,
// its task's process group and its cgroup. It serves teardown of agents that are gone.
func Destroy(ctx context.Context, stateDir string) error {
	if info, err := supervisor.ReadPID(stateDir); err == nil && info.Alive() {
		_ = syscall.Kill(info.PID, syscall.SIGKILL)
	}
	signalGroup(stateDir, syscall.SIGKILL)
	return LoadGroup(stateDir).Destroy(ctx)
}

// signalGroup signals the task's process group, unless the group is gone and its id reused:
// the kernel hands out no pid still in use as a process group id, so the group is ours while
// its leader is either the process recorded or no process at all.
func signalGroup(dir string, sig syscall.Signal) bool {
	g := supervisor.ReadTaskGroup(dir)
	if g.PID <= 1 {
		return false
	}
	if st, err := proc.ReadStat(g.PID); err == nil && g.StartTime != 0 && st.StartTime != g.StartTime {
		return false
	}
	return syscall.Kill(-g.PID, sig) == nil
}

// LoadGroup returns the cgroup recorded in a task's state directory (cgroup.json), or nil
// when the task has none.
func LoadGroup(dir string) *cgroups.Group {
	b, err := os.ReadFile(filepath.Join(dir, cgroupFile))
	if err != nil {
		return nil
	}
	var g cgroups.Group
	if json.Unmarshal(b, &g) != nil || len(g.Dirs) == 0 {
		return nil
	}
	return &g
}

// container is one task under its supervisor.
type container struct {
	spec  executor.Spec
	sup   proc.Info // zero when the supervisor never recorded itself
	group *cgroups.Group

	startMu sync.Mutex
	notify  *os.File // the supervisor's started pipe, until read; nil when recovered
	// launched lets the warm pool refill once Wait is called; nil when recovered.
	launched func()
	// released says that the agent let the task's process run (see releaseGate).
	released bool

	mu   sync.Mutex
	exit *executor.Exit
}

func (c *container) dir() string { return c.spec.StateDir }

// Started waits for the supervisor's word that the task runs, on the pipe it was started with.
// A container recovered after an agent restart has no pipe: Started polls for the started
// marker then, which only a task caught starting by the restart waits for.
func (c *container) Started(ctx context.Context) error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if c.released {
		// The task's process, in its cgroup, was let run by Launch itself.
		if c.notify != nil {
			c.notify.Close()
			c.notify = nil
		}
		return nil
	}
	if c.notify != nil {
		ok, err := readStarted(ctx, c.notify)
		if err != nil {
			return err
		}
		c.notify.Close()
		c.notify = nil
		if ok {
			return nil
		}
		// The supervisor is gone without the word: its files say why.
	}
	delay := 5 * time.Millisecond
	for {
		if supervisor.Started(c.dir()) {
			return nil
		}
		if supervisor.HasExit(c.dir()) || !c.sup.Alive() {
			if supervisor.Started(c.dir()) {
				return nil
			}
			return executor.ErrExited
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// settle tells the warm pool that the launch is over.
func (c *container) settle() {
	if c.launched != nil {
		c.launched()
	}
}

// readStarted reads the supervisor's started pipe: true when it said the task runs, false at
// EOF (it ended first), or ctx's error.
func readStarted(ctx context.Context, f *os.File) (bool, error) {
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return false, nil // not pollable: the files tell
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var b [1]byte
	n, _ := f.Read(b[:])
	if n == 1 {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return false, nil
}

// Wait waits for the supervisor to exit and reads the exit it recorded.
func (c *container) Wait(ctx context.Context) (executor.Exit, error) {
	// The launch is over, and reported when the caller waits for the task after Started: only
	// now does the warm pool refill, off the launch's path.
	c.settle()
	c.mu.Lock()
	if c.exit != nil {
		defer c.mu.Unlock()
		return *c.exit, nil
	}
	c.mu.Unlock()
	if err := c.sup.Wait(ctx); err != nil {
		return executor.Exit{}, err
	}
	c.sup.Reap()
	exit := c.readExit()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exit == nil {
		c.exit = &exit
	}
	return *c.exit, nil
}

func (c *container) readExit() executor.Exit {
	e, err := supervisor.ReadExit(c.dir())
	if err != nil {
		return executor.Exit{Code: -1, Lost: true, OOM: c.group.OOMKilled()}
	}
	if e.Error != "" && !e.Started {
		return executor.Exit{Code: -1, LaunchError: e.Error}
	}
	out := executor.Exit{Code: e.Code, Signal: syscall.Signal(e.Signal)}
	if out.Signal == syscall.SIGKILL && c.group.OOMKilled() {
		out.OOM = true
	}
	return out
}

// Kill sends SIGTERM to the supervisor (which forwards it to the task's process group), and
// SIGKILL to the group and the cgroup after grace.
func (c *container) Kill(ctx context.Context, grace time.Duration) error {
	if c.sup.Alive() {
		_ = syscall.Kill(c.sup.PID, syscall.SIGTERM)
	} else {
		signalGroup(c.dir(), syscall.SIGTERM)
	}
	wctx, cancel := context.WithTimeout(ctx, grace)
	_, err := c.Wait(wctx)
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	signalGroup(c.dir(), syscall.SIGKILL)
	c.group.KillAll()
	// The supervisor exits once its task is gone; one that does not goes too.
	wctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	_, err = c.Wait(wctx)
	cancel()
	if err != nil && ctx.Err() == nil && c.sup.Alive() {
		_ = syscall.Kill(c.sup.PID, syscall.SIGKILL)
	}
	return ctx.Err()
}

// Status names the container and its supervisor.
func (c *container) Status() *mesos.ContainerStatus {
	st := &mesos.ContainerStatus{ContainerID: mesos.NewID(c.spec.ContainerID)}
	if c.sup.PID > 0 {
		pid := uint32(c.sup.PID)
		st.ExecutorPID = &pid
	}
	return st
}
