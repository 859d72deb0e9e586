package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A pooled supervisor whose environment names, in EnvCgroupProcs, the cgroup the agent made
// for its future task (cgroup.procs files separated by os.PathListSeparator, one per hierarchy)
// starts the task's process ahead, while idle: a shell, put in that cgroup at once, that waits
// on fd 3 for the path of a script running the task; only then does it read its assignment.
// The agent sets the task's limits on that cgroup before it hands the supervisor the spec, so
// the launch costs the task neither a fork nor a move between cgroups: on cgroup v1 a move waits
// for an RCU grace period, some 10 ms on a busy host, in about one launch of ten.
const (
	// EnvCgroupProcs lists the cgroup.procs files a pooled supervisor's task joins ahead.
	EnvCgroupProcs = "MARINA_SUPERVISOR_CGROUP_PROCS"
	// warmScript is the script, in the state directory, that the warm gate runs.
	warmScript = "run.sh"
	// warmGateScript waits for the script's path; EOF first means there will be no task.
	warmGateScript = `read -r f <&3 || exit 0; exec 3<&-; . "$f"`
)

// errNotWarm says that a task cannot start through the warm gate: its argv[0] names another
// program than the one it runs (the gate passes the program's path), or its command or
// environment cannot be written as the env(1) command line the gate runs.
var errNotWarm = errors.New("task cannot start through the warm gate")

// warmGate is the task's process started ahead, in its cgroup.
type warmGate struct {
	cmd   *exec.Cmd
	gateW *os.File // the gate's fd 3
	env   string   // env(1), which gives the task its environment and nothing else
}

// startWarm starts the gate, with an empty environment, in a process group of its own (the
// task's), and moves it into the cgroups of procs.
func startWarm(procs []string) (*warmGate, error) {
	envPath, err := exec.LookPath("env")
	if err != nil {
		return nil, err
	}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        sh,
		Args:        []string{"sh", "-c", warmGateScript},
		Env:         []string{},
		Dir:         "/",
		ExtraFiles:  []*os.File{gateR},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	gateR.Close()
	if err != nil {
		gateW.Close()
		return nil, fmt.Errorf("start warm gate: %w", err)
	}
	w := &warmGate{cmd: cmd, gateW: gateW, env: envPath}
	pid := []byte(strconv.Itoa(cmd.Process.Pid))
	for _, p := range procs {
		// The task then starts as a cold supervisor's does, and joins the cgroup at the gate.
		if err := os.WriteFile(p, pid, 0); err != nil {
			w.discard()
			return nil, fmt.Errorf("join cgroup: %w", err)
		}
	}
	return w, nil
}

// start writes the script that runs spec's command into dir and returns the gate, with the
// function that lets it run the script. It returns errNotWarm, keeping the gate, when the task
// must start otherwise; on other errors the gate is gone.
func (w *warmGate) start(spec Spec, dir string) (*exec.Cmd, func() error, error) {
	path, argv, err := command(spec)
	if err != nil {
		w.discard()
		return nil, nil, err
	}
	if argv[0] != path && filepath.Base(argv[0]) != filepath.Base(path) || strings.Contains(path, "=") {
		return nil, nil, errNotWarm
	}
	var b strings.Builder
	b.WriteString("cd -- " + shellQuote(spec.Sandbox) + " || exit 127\n")
	b.WriteString("exec >>stdout 2>>stderr || exit 127\n")
	b.WriteString("exec " + shellQuote(w.env) + " -i --")
	for _, kv := range spec.Env {
		if !strings.Contains(kv, "=") {
			return nil, nil, errNotWarm
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
	script := filepath.Join(dir, warmScript)
	if err := os.WriteFile(script, []byte(b.String()), 0o600); err != nil {
		w.discard()
		return nil, nil, fmt.Errorf("warm gate: %w", err)
	}
	release := func() error {
		defer w.gateW.Close()
		if _, err := w.gateW.Write([]byte(script + "\n")); err != nil {
			return fmt.Errorf("start %s: %w", path, err)
		}
		return nil
	}
	return w.cmd, release, nil
}

// discard stops a gate that will not run a task: without its script, it exits.
func (w *warmGate) discard() {
	w.gateW.Close()
	_ = w.cmd.Wait()
}

// shellQuote quotes s for sh: single quotes, with each single quote written '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
