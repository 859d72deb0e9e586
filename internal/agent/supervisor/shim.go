package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// errFD is the pipe the supervisor passes to the shim (its first ExtraFiles entry).
const errFD = 3

// runShim turns the current process into the task: it joins the task's cgroups and execs the
// command with the task's environment. It only returns when that fails, after writing the
// reason to the supervisor's pipe. The supervisor starts tasks through it only when the shell
// gate cannot keep their argv[0] (see start).
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

// command returns the program and argv that run spec's command. Programs are looked up as the
// task itself would: in the task's PATH, relative names from its sandbox.
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
	path, err := lookPath(prog, getenv(spec.Env, "PATH"), spec.Sandbox)
	if err != nil {
		return "", nil, err
	}
	argv := spec.Arguments
	if len(argv) == 0 {
		argv = []string{prog}
	}
	return path, argv, nil
}

// lookPath is exec.LookPath for another process: it searches pathEnv, and resolves relative
// names and relative PATH entries from dir. Like exec.LookPath it refuses a program found
// through a relative PATH entry (exec.ErrDot). Relative results are made absolute.
func lookPath(file, pathEnv, dir string) (string, error) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if strings.Contains(file, "/") {
		p := abs(file)
		if err := findExecutable(p); err != nil {
			return "", &exec.Error{Name: file, Err: err}
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "." // an empty entry is the working directory
		}
		p := filepath.Join(d, file)
		if findExecutable(abs(p)) != nil {
			continue
		}
		if !filepath.IsAbs(p) {
			return "", &exec.Error{Name: file, Err: exec.ErrDot}
		}
		return p, nil
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

func findExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return syscall.EISDIR
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return &os.PathError{Op: "access", Path: p, Err: err}
	}
	return nil
}

// getenv returns the value of name in env, "NAME=value" entries; the first wins, as for
// getenv(3).
func getenv(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
