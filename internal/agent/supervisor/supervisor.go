package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/agent/internal/launchtrace"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"golang.org/x/sys/unix"
)

// The package's initialization runs the supervisor: Go initializes a package as soon as its
// imports are, so the supervisor starts before most packages of a binary like marina (etcd,
// gRPC, protobuf) are initialized, which would cost every supervisor tens of milliseconds of
// CPU for nothing. runc's nsenter runs even earlier, from a C constructor, for its own reasons.
func init() { MaybeRun() }

// MaybeRun runs the supervisor, or the exec shim, and exits when the environment asks for one;
// otherwise it returns at once. The package's init calls it, as early as Go's initialization
// order allows; calling it again first in main and in TestMain of packages that start agents
// states the contract and costs nothing.
func MaybeRun() {
	if p := os.Getenv(EnvExec); p != "" {
		runShim(p) // only returns on failure, having reported it
		os.Exit(127)
	}
	switch p := os.Getenv(EnvSupervisor); p {
	case "":
	case Pooled:
		os.Exit(runPooled())
	default:
		os.Exit(run(p, nil, nil))
	}
}

// self is the binary the shim is started from: the supervisor's own executable, even if the
// file was replaced on disk since.
const self = "/proc/self/exe"

// maxAssignment bounds what a pooled supervisor reads as its assignment.
const maxAssignment = 64 << 10

// runPooled waits for an assignment and runs it. Idle, the supervisor has no state directory
// and its output goes nowhere; assigned, it logs to the state directory's supervisor.log and
// works there. A signal that arrives before the assignment is read ends it with the default
// action: it has no task yet, and the agent, which signals only supervisors it assigned, finds
// no exit recorded and reports the task lost, or killed when it asked for the kill.
func runPooled() int {
	syscall.CloseOnExec(AssignFD)
	syscall.CloseOnExec(StartedFD)
	assign := os.NewFile(AssignFD, "assign")
	started := os.NewFile(StartedFD, "started")
	var warm *warmGate
	if procs := filepath.SplitList(os.Getenv(EnvCgroupProcs)); len(procs) > 0 {
		// Without it, the task is started and confined when assigned, as a cold supervisor's.
		syscall.CloseOnExec(WarmGateFD)
		warm, _ = startWarm(procs, os.NewFile(WarmGateFD, "gate"))
	}
	b, err := io.ReadAll(io.LimitReader(assign, maxAssignment))
	assign.Close()
	specPath, ok := strings.CutSuffix(string(b), "\n")
	if err != nil || !ok || specPath == "" {
		if warm != nil {
			warm.discard()
		}
		return 0 // the agent closed the pool, or died: nothing was asked
	}
	dir := filepath.Dir(specPath)
	if f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
		_ = unix.Dup3(int(f.Fd()), 1, 0)
		_ = unix.Dup3(int(f.Fd()), 2, 0)
		f.Close()
	}
	_ = os.Chdir(dir)
	return run(specPath, started, warm)
}

// run supervises one task and returns the supervisor's exit code. The task's outcome is in the
// exit file, not in this code. started, when not nil, gets a byte once the task runs and is
// closed. warm, when not nil, is a gate started ahead in the task's cgroup.
func run(specPath string, started *os.File, warm *warmGate) int {
	begun := time.Now()
	defer func() {
		if warm != nil { // not used
			warm.discard()
		}
	}()
	// Take SIGTERM first: a kill that arrives while the task is starting must not be lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)
	if started != nil {
		defer started.Close()
	}

	dir := filepath.Dir(specPath)
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s supervisor: %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
	}
	// The agent records the supervisor it starts; one started by hand records itself.
	if !fsutil.Exists(filepath.Join(dir, PIDFile)) {
		if me, err := proc.Self(); err == nil {
			if err := WritePID(dir, me); err != nil {
				logf("%v", err)
			}
		}
	}
	finish := func(e Exit) int {
		b, _ := json.Marshal(e)
		if err := fsutil.WriteAtomic(filepath.Join(dir, ExitFile), b, 0o600); err != nil {
			logf("record exit: %v", err)
			return 1
		}
		return 0
	}

	spec, err := ReadSpec(specPath)
	if err != nil {
		return finish(Exit{Code: -1, Error: err.Error()})
	}
	launchtrace.MarkAt(spec.TaskID, launchtrace.Assigned, begun)
	stdout, err := openLog(filepath.Join(spec.Sandbox, "stdout"))
	if err != nil {
		return finish(Exit{Code: -1, Error: err.Error()})
	}
	defer stdout.Close()
	stderr, err := openLog(filepath.Join(spec.Sandbox, "stderr"))
	if err != nil {
		return finish(Exit{Code: -1, Error: err.Error()})
	}
	defer stderr.Close()

	select {
	case <-sigs:
		return finish(Exit{Code: -1, Signal: int(syscall.SIGTERM), Error: "killed before the task started", Terminated: true})
	default:
	}

	var (
		cmd     *exec.Cmd
		release func() error
	)
	if w := warm; w != nil {
		warm = nil
		if len(spec.CgroupProcs) > 0 && fsutil.Exists(filepath.Join(dir, RunScript)) {
			// The agent let the gate run the task.
			cmd, release = w.cmd, func() error { return nil }
		} else {
			w.discard()
		}
	}
	if cmd == nil {
		if cmd, release, err = start(spec, specPath, stdout, stderr); err != nil {
			return finish(Exit{Code: -1, Error: err.Error()})
		}
	}
	launchtrace.Mark(spec.TaskID, launchtrace.Forked)
	pgid := cmd.Process.Pid
	group, err := proc.Of(pgid)
	if err != nil {
		group = proc.Info{PID: pgid}
	}
	// Recorded before the task may run, so that whoever cleans up after a supervisor that died
	// finds the group.
	if err := writeTaskGroup(dir, group); err != nil {
		logf("%v", err)
	}
	if err := release(); err != nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = cmd.Wait()
		return finish(Exit{Code: -1, Error: err.Error()})
	}
	launchtrace.Mark(spec.TaskID, launchtrace.Released)
	// The agent hears first; the marker, for an agent that restarts meanwhile, follows.
	if started != nil {
		_, _ = started.Write([]byte{1})
		started.Close()
	}
	if err := fsutil.Replace(filepath.Join(dir, StartedFile), []byte(time.Now().UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
		logf("%v", err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	terminated := false
	var werr error
wait:
	for {
		select {
		case sig := <-sigs:
			terminated = true
			logf("got %v: stopping task process group %d", sig, pgid)
			if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
				logf("signal task: %v", err)
			}
		case werr = <-done:
			break wait
		}
	}
	// Whatever the task left behind in its group goes with it, as a container would.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)

	e := Exit{Started: true, Code: -1, Terminated: terminated}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			e.Code = ws.ExitStatus()
		case ws.Signaled():
			e.Signal = int(ws.Signal())
		}
	} else if werr != nil {
		e.Error = werr.Error()
	}
	return finish(e)
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	return f, nil
}
