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
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
)

// MaybeRun runs the supervisor, or the exec shim, and exits when the environment asks for one;
// otherwise it returns at once. Call it first in main and in TestMain of packages that start
// agents.
func MaybeRun() {
	if p := os.Getenv(EnvExec); p != "" {
		runShim(p) // only returns on failure, having reported it
		os.Exit(127)
	}
	if p := os.Getenv(EnvSupervisor); p != "" {
		os.Exit(run(p))
	}
}

// self is the binary the shim is started from: the supervisor's own executable, even if the
// file was replaced on disk since.
const self = "/proc/self/exe"

// run supervises one task and returns the supervisor's exit code. The task's outcome is in the
// exit file, not in this code.
func run(specPath string) int {
	// Take SIGTERM first: a kill that arrives while the task is starting must not be lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)

	dir := filepath.Dir(specPath)
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s supervisor: %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
	}
	if me, err := proc.Self(); err == nil {
		if err := WritePID(dir, me); err != nil {
			logf("%v", err)
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

	errR, errW, err := os.Pipe()
	if err != nil {
		return finish(Exit{Code: -1, Error: fmt.Sprintf("exec pipe: %v", err)})
	}
	cmd := &exec.Cmd{
		Path:        self,
		Args:        []string{"marina-exec", spec.TaskID},
		Env:         append(append([]string(nil), spec.Env...), EnvExec+"="+specPath),
		Dir:         spec.Sandbox,
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{errW},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	errW.Close()
	if err != nil {
		errR.Close()
		return finish(Exit{Code: -1, Error: fmt.Sprintf("start: %v", err)})
	}
	// The shim closes its end on a successful exec (close-on-exec) and writes the reason first
	// when the exec fails.
	msg, _ := io.ReadAll(io.LimitReader(errR, 64<<10))
	errR.Close()
	pgid := cmd.Process.Pid
	if len(msg) > 0 {
		_ = cmd.Wait()
		return finish(Exit{Code: -1, Error: string(msg)})
	}
	group, err := proc.Of(pgid)
	if err != nil {
		group = proc.Info{PID: pgid}
	}
	if err := writeTaskGroup(dir, group); err != nil {
		logf("%v", err)
	}
	if err := fsutil.WriteAtomic(filepath.Join(dir, StartedFile), []byte(time.Now().UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
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
