package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
)

// Environment variables that switch a binary into the supervisor or the exec shim.
const (
	// EnvSupervisor holds the path of the supervisor's Spec file, or Pooled.
	EnvSupervisor = "MARINA_SUPERVISOR"
	EnvExec       = "MARINA_SUPERVISOR_EXEC"
)

// The pooled supervisor's protocol. Started with EnvSupervisor=Pooled, a supervisor waits idle
// for its assignment: the path of its Spec file followed by a newline, which the agent writes to
// AssignFD before closing it. At EOF without an assignment (the agent closed its pool, or died)
// it exits quietly, having touched nothing. Assigned, it writes one byte to StartedFD once the
// task runs and closes it; EOF there without that byte means the task never ran.
const (
	Pooled    = "-"
	AssignFD  = 3
	StartedFD = 4
)

// Files in a task's state directory (the directory of the Spec file).
const (
	SpecFile    = "spec.json"
	PIDFile     = "supervisor.pid"
	PGIDFile    = "task.pgid"
	StartedFile = "started"
	ExitFile    = "exit.json"
	LogFile     = "supervisor.log"
)

// Spec tells a supervisor what to run. The agent writes it; the supervisor and the shim read it.
type Spec struct {
	TaskID  string `json:"task_id"`
	Sandbox string `json:"sandbox"` // working directory; stdout and stderr go here
	// Shell runs Value with /bin/sh -c; otherwise Value is the program (looked up in PATH) and
	// Arguments its argv, argv[0] included (Value when Arguments is empty).
	Shell     bool     `json:"shell"`
	Value     string   `json:"value"`
	Arguments []string `json:"arguments,omitempty"`
	// Env is the task's complete environment, "NAME=value".
	Env []string `json:"env"`
	// CgroupProcs lists cgroup.procs files the task joins before it execs, one per controller
	// hierarchy; empty when the agent runs without cgroups.
	CgroupProcs []string `json:"cgroup_procs,omitempty"`
}

// Exit is what a supervisor records when the task ended or could not start.
type Exit struct {
	Started bool `json:"started"`
	// Code is the exit code, -1 when a signal ended the task.
	Code   int `json:"code"`
	Signal int `json:"signal,omitempty"`
	// Error says why the command could not start; empty when it did.
	Error string `json:"error,omitempty"`
	// Terminated is set when the supervisor was asked to stop the task (SIGTERM).
	Terminated bool `json:"terminated,omitempty"`
}

// WriteSpec writes spec into dir (created when missing) and returns the path to give the
// supervisor. Like the other files that only describe a running task (pids, the started
// marker), it is not synced: after a machine crash the task is gone whatever they say.
func WriteSpec(dir string, spec Spec) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("supervisor spec: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("supervisor spec: %w", err)
	}
	p := filepath.Join(dir, SpecFile)
	if err := fsutil.Replace(p, b, 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// ReadSpec reads a spec file.
func ReadSpec(path string) (Spec, error) {
	var s Spec
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("supervisor spec: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("supervisor spec %s: %w", path, err)
	}
	return s, nil
}

// ReadExit returns the exit recorded in dir, or an error wrapping os.ErrNotExist when the
// supervisor recorded none.
func ReadExit(dir string) (Exit, error) {
	var e Exit
	b, err := os.ReadFile(filepath.Join(dir, ExitFile))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("exit status in %s: %w", dir, err)
	}
	return e, nil
}

// WritePID records a supervisor's identity in dir.
func WritePID(dir string, p proc.Info) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return fsutil.Replace(filepath.Join(dir, PIDFile), b, 0o600)
}

// ReadPID returns the supervisor identity recorded in dir.
func ReadPID(dir string) (proc.Info, error) {
	var p proc.Info
	b, err := os.ReadFile(filepath.Join(dir, PIDFile))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("supervisor pid in %s: %w", dir, err)
	}
	return p, nil
}

// ReadPGID returns the task's process group recorded in dir, 0 when none is.
func ReadPGID(dir string) int { return ReadTaskGroup(dir).PID }

// ReadTaskGroup returns the task's process group recorded in dir: the group leader's pid (the
// pgid) and start time. PID is 0 when none is recorded.
func ReadTaskGroup(dir string) proc.Info {
	b, err := os.ReadFile(filepath.Join(dir, PGIDFile))
	if err != nil {
		return proc.Info{}
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return proc.Info{}
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 1 {
		return proc.Info{}
	}
	info := proc.Info{PID: n}
	if len(f) > 1 {
		info.StartTime, _ = strconv.ParseUint(f[1], 10, 64)
	}
	return info
}

// writeTaskGroup records the task's process group in dir as "pgid starttime".
func writeTaskGroup(dir string, p proc.Info) error {
	return fsutil.Replace(filepath.Join(dir, PGIDFile), []byte(strconv.Itoa(p.PID)+" "+strconv.FormatUint(p.StartTime, 10)), 0o600)
}

// Started reports whether the supervisor recorded in dir that the task started.
func Started(dir string) bool { return fsutil.Exists(filepath.Join(dir, StartedFile)) }

// HasExit reports whether an exit is recorded in dir.
func HasExit(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ExitFile))
	return !errors.Is(err, os.ErrNotExist)
}
