package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Spec is everything an executor needs to run one task. The agent checkpoints it and hands the
// same Spec to Recover after a restart.
type Spec struct {
	// ContainerID is unique per launch and safe as a file name.
	ContainerID string         `json:"container_id"`
	FrameworkID string         `json:"framework_id"`
	AgentID     string         `json:"agent_id"`
	Hostname    string         `json:"hostname"`
	Task        mesos.TaskInfo `json:"task"`
	// Sandbox is the task's working directory on the host (created by the agent).
	Sandbox string `json:"sandbox"`
	// StateDir is a directory private to the executor for this container (created by the agent,
	// kept across agent restarts, removed with the task's checkpoint).
	StateDir string `json:"state_dir"`
}

// ErrExited is returned by Container.Started when the task ended (or never ran) before it was
// seen running; Wait says how.
var ErrExited = errors.New("executor: task exited before it was running")

// ErrNotFound is returned by Recover when nothing of the container is left to re-attach to.
var ErrNotFound = errors.New("executor: container not found")

// Exit says how a task ended.
type Exit struct {
	// Code is the exit code when the task exited, -1 when a signal ended it.
	Code int
	// Signal ended the task when non-zero.
	Signal syscall.Signal
	// LaunchError says why the task could not start; the other fields are then meaningless.
	LaunchError string
	// Lost is set when the executor vanished without recording how the task ended.
	Lost bool
	// OOM is set when the task was killed for exceeding its memory limit.
	OOM bool
}

// Success reports whether the task exited with status 0.
func (e Exit) Success() bool {
	return e.LaunchError == "" && !e.Lost && !e.OOM && e.Signal == 0 && e.Code == 0
}

// String describes the exit in Mesos' words.
func (e Exit) String() string {
	switch {
	case e.LaunchError != "":
		return "Failed to launch task: " + e.LaunchError
	case e.Lost:
		return "Executor terminated"
	case e.OOM:
		return "Memory limit exceeded"
	case e.Signal != 0:
		return fmt.Sprintf("Command terminated with signal %s", unixSignalName(e.Signal))
	default:
		return fmt.Sprintf("Command exited with status %d", e.Code)
	}
}

// unixSignalName names a signal as strsignal(3) does ("Killed", "Terminated"), which is how
// Mesos words it.
func unixSignalName(s syscall.Signal) string {
	n := s.String()
	if n == "" || strings.HasPrefix(n, "signal ") {
		return fmt.Sprintf("%d", int(s))
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// Container is one launched task.
type Container interface {
	// Started returns nil once the task is running, ErrExited when it ended or could not start
	// first, or ctx's error.
	Started(ctx context.Context) error
	// Wait returns how the task ended, once it has, or ctx's error. It may be called more than
	// once and concurrently.
	Wait(ctx context.Context) (Exit, error)
	// Kill asks the task to stop (SIGTERM or the runtime's equivalent), and forces it (SIGKILL)
	// when it is still running after grace. It returns when the task is gone, the force was
	// applied, or ctx ends.
	Kill(ctx context.Context, grace time.Duration) error
	// Status describes the container for status updates (container id, executor pid, IPs).
	Status() *mesos.ContainerStatus
}

// Executor runs tasks.
type Executor interface {
	// Name identifies the executor in checkpoints ("process", "docker").
	Name() string
	// Launch starts spec's task and returns once it is under the executor's care; it need not
	// be running yet (see Container.Started).
	Launch(ctx context.Context, spec Spec) (Container, error)
	// Recover re-attaches to a container launched earlier, by this agent or a previous one,
	// running or not. It returns ErrNotFound when nothing of it is left.
	Recover(ctx context.Context, spec Spec) (Container, error)
	// Cleanup releases what the container held (cgroups, a Docker container) once it exited.
	Cleanup(ctx context.Context, spec Spec) error
	// Close releases what the executor keeps for launches to come (processes kept warm,
	// clients). Containers keep running, and their handles keep working; a new executor
	// recovers them. Close is idempotent.
	Close() error
}
