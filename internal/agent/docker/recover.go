package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
)

// Files in a container's state directory.
const (
	stateFile = "docker.json" // the container's name and image, written before it is created
	exitFile  = "exit.json"   // how it ended, once seen
)

// state is what Recover needs to find a container again.
type state struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

func writeState(dir string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return fsutil.WriteAtomic(filepath.Join(dir, stateFile), b, 0o600)
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Name == "" {
		return st, fmt.Errorf("%s: bad state %q", dir, b)
	}
	return st, nil
}

// exitRecord is an executor.Exit on disk.
type exitRecord struct {
	Code        int    `json:"code"`
	Signal      int    `json:"signal,omitempty"`
	LaunchError string `json:"launch_error,omitempty"`
	Lost        bool   `json:"lost,omitempty"`
	OOM         bool   `json:"oom,omitempty"`
}

func writeExit(dir string, x executor.Exit) error {
	b, err := json.Marshal(exitRecord{Code: x.Code, Signal: int(x.Signal), LaunchError: x.LaunchError, Lost: x.Lost, OOM: x.OOM})
	if err != nil {
		return err
	}
	return fsutil.WriteAtomic(filepath.Join(dir, exitFile), b, 0o600)
}

func readExit(dir string) (executor.Exit, bool) {
	b, err := os.ReadFile(filepath.Join(dir, exitFile))
	if err != nil {
		return executor.Exit{}, false
	}
	var r exitRecord
	if json.Unmarshal(b, &r) != nil {
		return executor.Exit{}, false
	}
	return executor.Exit{Code: r.Code, Signal: syscall.Signal(r.Signal), LaunchError: r.LaunchError, Lost: r.Lost, OOM: r.OOM}, true
}

// errInterrupted is the launch error of a container an agent created but never started.
const errInterrupted = "launch interrupted by an agent restart"

// Recover re-attaches to a container from its state directory: it resumes following its logs
// and answers Wait whether the container still runs or already ended. A container that was
// created but never started is reported as a launch failure; one removed behind the
// executor's back, as lost.
func (e *Executor) Recover(ctx context.Context, spec executor.Spec) (executor.Container, error) {
	if e.isClosed() {
		return nil, errClosed
	}
	st, err := readState(spec.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, executor.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c := &handle{ex: e, spec: spec, name: st.Name}
	if x, ok := readExit(spec.StateDir); ok {
		c.exit = &x
		c.started = x.LaunchError == ""
	}
	info, err := e.cli.ContainerInspect(ctx, st.Name)
	switch {
	case isNotFound(err):
		if c.exit != nil {
			return c, nil
		}
		// Never created (the agent stopped while pulling) or removed by someone else: there is
		// no knowing which, and neither ran under the agent's eye.
		return nil, executor.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("inspect container %s: %w", st.Name, err)
	}
	c.id = info.ID
	c.describe(info)
	if c.exit == nil && info.State != nil && info.State.Status == "created" {
		x := executor.Exit{Code: -1, LaunchError: errInterrupted}
		if err := writeExit(spec.StateDir, x); err != nil {
			e.log.Warn("record exit", "container", spec.ContainerID, "err", err)
		}
		c.exit = &x
		return c, nil
	}
	c.started = c.started || startedAt(info.State)
	c.follower = e.follow(spec, info.ID)
	if c.exit == nil && info.State != nil && info.State.Running {
		e.startForward(spec.ContainerID, forwardedPorts(spec.Task.Container, spec.Task.Resources))
	}
	return c, nil
}

// Destroy removes, running or not, the container whose state directory is stateDir, without an
// executor: it serves teardown of agents that are gone (agent.KillTasks). A directory that names
// no container is left alone; cli nil uses the engine the environment names.
func Destroy(ctx context.Context, cli Client, stateDir string) error {
	st, err := readState(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if cli == nil {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return fmt.Errorf("docker: %w", err)
		}
		defer c.Close()
		cli = c
	}
	err = cli.ContainerRemove(ctx, st.Name, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container %s: %w", st.Name, err)
	}
	return nil
}

// Orphan is a container of this agent that no known task owns.
type Orphan struct {
	ContainerID string // Marina's container id (the marina.container_id label)
	Name        string
	DockerID    string
	TaskID      string
	FrameworkID string
	State       string
}

// Orphans lists the containers labelled with the executor's agent id whose container id is not
// in known (the container ids of the tasks the agent recovered).
func (e *Executor) Orphans(ctx context.Context, known map[string]bool) ([]Orphan, error) {
	if e.cfg.AgentID == "" {
		return nil, errors.New("docker executor: orphans need Config.AgentID")
	}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelAgentID+"="+e.cfg.AgentID), filters.Arg("label", LabelContainerID)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Orphan
	for _, s := range list {
		id := s.Labels[LabelContainerID]
		if id == "" || known[id] || s.Labels[LabelAgentID] != e.cfg.AgentID {
			continue
		}
		o := Orphan{ContainerID: id, DockerID: s.ID, TaskID: s.Labels[LabelTaskID],
			FrameworkID: s.Labels[LabelFrameworkID], State: string(s.State)}
		if len(s.Names) > 0 {
			o.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		out = append(out, o)
	}
	return out, nil
}

// CleanupOrphans removes the containers Orphans lists, running or not, and returns them. It
// goes on past a container it cannot remove and reports every failure.
func (e *Executor) CleanupOrphans(ctx context.Context, known map[string]bool) ([]Orphan, error) {
	orphans, err := e.Orphans(ctx, known)
	if err != nil {
		return nil, err
	}
	var removed []Orphan
	var errs []error
	for _, o := range orphans {
		err := e.cli.ContainerRemove(ctx, o.DockerID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove orphan %s: %w", o.Name, err))
			continue
		}
		e.log.Info("removed orphan container", "name", o.Name, "task", o.TaskID, "framework", o.FrameworkID, "state", o.State)
		removed = append(removed, o)
	}
	return removed, errors.Join(errs...)
}

func isNotFound(err error) bool { return err != nil && cerrdefs.IsNotFound(err) }
