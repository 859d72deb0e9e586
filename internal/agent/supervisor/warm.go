package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/marina-dcos/marina/internal/agent/internal/proc"
)

// A pooled supervisor whose environment names, in EnvCgroupProcs, the cgroup the agent made
// for its future task (cgroup.procs files separated by os.PathListSeparator, one per hierarchy)
// starts the task's process ahead, while idle: a shell, put in that cgroup at once, that waits
// on WarmGateFD (its fd 3) for the path of a script running the task. The agent holds the other
// end of that pipe. At launch it sets the task's limits on the cgroup, checks that the gate is
// in it, records the gate as the task's process group, writes the script (RunScript, in the
// state directory) and lets the gate run it, then hands the supervisor its spec: the launch
// costs the task neither a fork nor a move between cgroups (on cgroup v1 a move waits for an RCU
// grace period, some 10 ms on a busy host, in about one launch of ten), and does not wait for
// the supervisor to be scheduled. A supervisor that finds no RunScript when assigned kills its
// gate and starts the task itself, as a cold one does.
const (
	// EnvCgroupProcs lists the cgroup.procs files a pooled supervisor's task joins ahead.
	EnvCgroupProcs = "MARINA_SUPERVISOR_CGROUP_PROCS"
	// WarmGateFD is the pooled supervisor's end of the gate's pipe, passed on to the gate.
	WarmGateFD = 5
	// RunScript is the script, in the state directory, that the gate runs.
	RunScript = "run.sh"
	// warmGateScript waits for the script's path; EOF first means there will be no task.
	warmGateScript = `read -r f <&3 || exit 0; exec 3<&-; . "$f"`
)

// ErrNotWarm says that a task cannot start through the warm gate: its argv[0] names another
// program than the one it runs (the gate passes the program's path), or its command or
// environment cannot be written as the env(1) command line the gate runs.
var ErrNotWarm = errors.New("task cannot start through the warm gate")

// warmGate is the task's process started ahead, in its cgroup.
type warmGate struct{ cmd *exec.Cmd }

// startWarm starts the gate on gateR (which it closes), with an empty environment, in a process
// group of its own (the task's), and moves it into the cgroups of procs. A gate that cannot be
// moved is killed: it must never run.
func startWarm(procs []string, gateR *os.File) (*warmGate, error) {
	defer gateR.Close()
	cmd := &exec.Cmd{
		Path:        sh,
		Args:        []string{"sh", "-c", warmGateScript},
		Env:         []string{},
		Dir:         "/",
		ExtraFiles:  []*os.File{gateR},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start warm gate: %w", err)
	}
	w := &warmGate{cmd: cmd}
	pid := []byte(strconv.Itoa(cmd.Process.Pid))
	for _, p := range procs {
		if err := os.WriteFile(p, pid, 0); err != nil {
			w.discard()
			return nil, fmt.Errorf("join cgroup: %w", err)
		}
	}
	return w, nil
}

// discard kills the gate, which runs no task or one that must not run on, and collects it.
func (w *warmGate) discard() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	_ = w.cmd.Wait()
}

// GatePID returns the pid of the gate in the cgroup of procs: the one process in every one of
// them; 0 when there is none (not there yet, gone) or anything else is.
func GatePID(procs []string) int {
	pid := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		f := strings.Fields(string(b))
		if err != nil || len(f) != 1 {
			return 0
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || (pid != 0 && n != pid) {
			return 0
		}
		pid = n
	}
	return pid
}

// envPath finds env(1), which gives the task its environment and nothing else.
var envPath = sync.OnceValues(func() (string, error) { return exec.LookPath("env") })

// WriteRunScript writes into dir the script that runs spec's command from its sandbox, with its
// output in the sandbox's files, and returns its path; ErrNotWarm when the gate cannot run it.
func WriteRunScript(dir string, spec Spec) (string, error) {
	env, err := envPath()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotWarm, err)
	}
	path, argv, err := command(spec)
	if err != nil {
		return "", err
	}
	if argv[0] != path && filepath.Base(argv[0]) != filepath.Base(path) || strings.Contains(path, "=") {
		return "", ErrNotWarm
	}
	var b strings.Builder
	b.WriteString("cd -- " + shellQuote(spec.Sandbox) + " || exit 127\n")
	b.WriteString("exec >>stdout 2>>stderr || exit 127\n")
	b.WriteString("exec " + shellQuote(env) + " -i --")
	for _, kv := range spec.Env {
		if !strings.Contains(kv, "=") {
			return "", ErrNotWarm
		}
		b.WriteString(" " + shellQuote(kv))
	}
	args := append([]string{path}, argv[1:]...)
	if spec.Shell {
		args = append(args, argv[0]) // the script's $0, as the gate gives it (see start)
	}
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	script := filepath.Join(dir, RunScript)
	if err := os.WriteFile(script, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("warm gate: %w", err)
	}
	return script, nil
}

// WriteTaskGroup records the task's process group in dir: the group leader's pid and start
// time.
func WriteTaskGroup(dir string, p proc.Info) error { return writeTaskGroup(dir, p) }

// shellQuote quotes s for sh: in single quotes, each single quote in s closing them, escaped,
// and reopening them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
