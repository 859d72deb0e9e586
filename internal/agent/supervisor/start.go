package supervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// gateScript holds a task's command until the supervisor has put it in the task's cgroups: it
// waits for a line on fd 3, closes it and execs its arguments, the program's path first. EOF
// without that line means the supervisor died before it could confine the task, which then must
// not run at all.
const gateScript = `read -r _ <&3 || exit 127; exec 3<&-; exec "$0" "$@"`

// sh runs the gate.
const sh = "/bin/sh"

// start starts spec's command in a process group of its own, with the task's environment, in
// its sandbox, and returns it with the function that lets it run. The program is resolved first,
// so a missing one fails here, clearly.
//
// Without cgroups the program is started directly, so os/exec reports a failed exec and release
// has nothing to do. With cgroups the program must be in them before it runs: the shell gate
// holds it while release writes the gate's pid into each cgroup.procs, then lets it exec the
// program, which is charged to the task's cgroups from its first instruction. The supervisor
// itself never joins them. The gate passes the program's path as argv[0], which is harmless
// when argv[0] names the same program (a shell task's script still sees $0 = "sh"); a command
// whose argv[0] names another (a busybox applet, a login shell's "-sh") goes through the exec
// shim instead, the agent's binary once more.
func start(spec Spec, specPath string, stdout, stderr *os.File) (*exec.Cmd, func() error, error) {
	path, argv, err := command(spec)
	if err != nil {
		return nil, nil, err
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         spec.Env,
		Dir:         spec.Sandbox,
		Stdout:      stdout,
		Stderr:      stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	switch {
	case len(spec.CgroupProcs) == 0:
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		return cmd, func() error { return nil }, nil
	case argv[0] != path && filepath.Base(argv[0]) != filepath.Base(path):
		cmd, err := startShim(spec, specPath, stdout, stderr)
		return cmd, func() error { return nil }, err
	}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("gate pipe: %w", err)
	}
	cmd.Path = sh
	cmd.Args = append([]string{"sh", "-c", gateScript, path}, argv[1:]...)
	if spec.Shell {
		// sh -c takes $0 from the argument after the script: the task's script sees "sh", as
		// it does when started directly.
		cmd.Args = append(cmd.Args, argv[0])
	}
	cmd.ExtraFiles = []*os.File{gateR}
	err = cmd.Start()
	gateR.Close()
	if err != nil {
		gateW.Close()
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	release := func() error {
		defer gateW.Close()
		pid := []byte(strconv.Itoa(cmd.Process.Pid))
		for _, p := range spec.CgroupProcs {
			if err := os.WriteFile(p, pid, 0); err != nil {
				return fmt.Errorf("join cgroup: %w", err)
			}
		}
		if _, err := gateW.Write([]byte("\n")); err != nil {
			return fmt.Errorf("start %s: %w", path, err)
		}
		return nil
	}
	return cmd, release, nil
}

// startShim starts the command through the exec shim, which joins the cgroups and execs it,
// and returns once it has: the shim reports a failure to exec over an inherited pipe, which a
// successful exec closes.
func startShim(spec Spec, specPath string, stdout, stderr *os.File) (*exec.Cmd, error) {
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exec pipe: %w", err)
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
		return nil, fmt.Errorf("start: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(errR, 64<<10))
	errR.Close()
	if len(msg) > 0 {
		_ = cmd.Wait()
		return nil, errors.New(string(msg))
	}
	return cmd, nil
}
