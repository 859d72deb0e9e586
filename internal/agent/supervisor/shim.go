package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// errFD is the pipe the supervisor passes to the shim (its first ExtraFiles entry).
const errFD = 3

// runShim turns the current process into the task: it joins the task's cgroups and execs the
// command with the task's environment. It only returns when that fails, after writing the
// reason to the supervisor's pipe.
func runShim(specPath string) {
	syscall.CloseOnExec(errFD)
	errPipe := os.NewFile(errFD, "exec-error")
	fail := func(err error) {
		if errPipe != nil {
			fmt.Fprint(errPipe, err.Error())
		}
	}
	spec, err := ReadSpec(specPath)
	if err != nil {
		fail(err)
		return
	}
	for _, p := range spec.CgroupProcs {
		if err := os.WriteFile(p, []byte("0"), 0); err != nil {
			fail(fmt.Errorf("join cgroup: %w", err))
			return
		}
	}
	env := make([]string, 0, len(spec.Env))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvExec+"=") {
			env = append(env, kv)
		}
	}
	path, argv, err := command(spec)
	if err != nil {
		fail(err)
		return
	}
	if err := syscall.Exec(path, argv, env); err != nil {
		fail(fmt.Errorf("exec %s: %w", path, err))
	}
}

// command returns the program and argv that run spec's command. Programs are looked up in the
// task's PATH (the shim runs with the task's environment).
func command(spec Spec) (string, []string, error) {
	if spec.Shell {
		return "/bin/sh", []string{"sh", "-c", spec.Value}, nil
	}
	prog := spec.Value
	if prog == "" && len(spec.Arguments) > 0 {
		prog = spec.Arguments[0]
	}
	if prog == "" {
		return "", nil, fmt.Errorf("empty command")
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", nil, err
	}
	argv := spec.Arguments
	if len(argv) == 0 {
		argv = []string{prog}
	}
	return path, argv, nil
}
