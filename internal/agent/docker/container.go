package docker

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Timeouts of the executor's own engine calls.
const (
	removeTimeout = 30 * time.Second
	drainTimeout  = 5 * time.Second // for the last log lines, once a container exited
	retryMin      = 100 * time.Millisecond
	retryMax      = 5 * time.Second
)

// handle is one task's Docker container.
type handle struct {
	ex       *Executor
	spec     executor.Spec
	name, id string
	netMode  string
	netName  string
	follower *follower // nil when logs are not followed (the container never ran)

	mu      sync.Mutex
	started bool
	pid     int
	nets    []mesos.NetworkInfo
	exit    *executor.Exit
}

// describe records what status updates tell of a container: its addresses and init's pid.
func (c *handle) describe(info dcontainer.InspectResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if info.HostConfig != nil && c.netMode == "" {
		c.netMode = string(info.HostConfig.NetworkMode)
		if m := info.HostConfig.NetworkMode; m.IsUserDefined() {
			c.netName = string(m)
		}
	}
	if info.State != nil && info.State.Pid > 0 {
		c.pid = info.State.Pid
	}
	if nets := networkInfos(c.netMode, c.netName, info.NetworkSettings); nets != nil {
		c.nets = nets
	}
}

// Started returns nil when the container started: Launch returns only once it has.
func (c *handle) Started(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return nil
	}
	return executor.ErrExited
}

// Wait waits for the container to stop and returns how it ended, once the last of its output
// is in the sandbox. Engine errors are retried: Wait ends only with an exit or ctx's error.
func (c *handle) Wait(ctx context.Context) (executor.Exit, error) {
	if x, ok := c.known(); ok {
		c.ex.stopForward(c.spec.ContainerID)
		c.drain(ctx)
		return x, nil
	}
	delay := retryMin
	for {
		x, err := c.waitOnce(ctx)
		if err == nil {
			x = c.record(x)
			c.ex.stopForward(c.spec.ContainerID)
			c.drain(ctx)
			return x, nil
		}
		if ctx.Err() != nil {
			return executor.Exit{}, ctx.Err()
		}
		c.ex.log.Warn("wait for container", "container", c.spec.ContainerID, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return executor.Exit{}, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, retryMax)
	}
}

func (c *handle) known() (executor.Exit, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exit != nil {
		return *c.exit, true
	}
	return executor.Exit{}, false
}

// record keeps the first exit seen, on disk too, and returns it.
func (c *handle) record(x executor.Exit) executor.Exit {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exit != nil {
		return *c.exit
	}
	if err := writeExit(c.spec.StateDir, x); err != nil {
		c.ex.log.Warn("record exit", "container", c.spec.ContainerID, "err", err)
	}
	c.exit = &x
	return x
}

// waitOnce waits for the container to stop and inspects how it ended.
func (c *handle) waitOnce(ctx context.Context) (executor.Exit, error) {
	ref := c.ref()
	resc, errc := c.ex.cli.ContainerWait(ctx, ref, dcontainer.WaitConditionNotRunning)
	select {
	case <-resc:
	case err := <-errc:
		if isNotFound(err) {
			return executor.Exit{Code: -1, Lost: true}, nil
		}
		if err != nil {
			return executor.Exit{}, err
		}
	case <-ctx.Done():
		return executor.Exit{}, ctx.Err()
	}
	info, err := c.ex.cli.ContainerInspect(ctx, ref)
	if isNotFound(err) {
		return executor.Exit{Code: -1, Lost: true}, nil
	}
	if err != nil {
		return executor.Exit{}, err
	}
	x, ok := exitOf(info.State)
	if !ok {
		// Restarted by someone else between the wait and the inspect: wait again.
		return c.waitOnce(ctx)
	}
	return x, nil
}

// exitOf says how a stopped container ended; ok is false while it runs.
func exitOf(st *dcontainer.State) (x executor.Exit, ok bool) {
	if st == nil {
		return executor.Exit{Code: -1, Lost: true}, true
	}
	if st.Running || st.Restarting || st.Paused {
		return executor.Exit{}, false
	}
	switch {
	case st.OOMKilled:
		return executor.Exit{Code: st.ExitCode, OOM: true}, true
	case !startedAt(st) && st.Error != "":
		return executor.Exit{Code: -1, LaunchError: st.Error}, true
	case !startedAt(st):
		return executor.Exit{Code: -1, LaunchError: errInterrupted}, true
	}
	return executor.Exit{Code: st.ExitCode}, true
}

// startedAt reports whether the container ever started.
func startedAt(st *dcontainer.State) bool {
	return st != nil && st.StartedAt != "" && !strings.HasPrefix(st.StartedAt, "0001-01-01")
}

// drain waits for the log follower to copy the container's last output, for a while.
func (c *handle) drain(ctx context.Context) {
	if c.follower == nil {
		return
	}
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-c.follower.done:
	case <-t.C:
		c.ex.log.Warn("container logs not drained", "container", c.spec.ContainerID)
	case <-ctx.Done():
	}
}

// Kill stops the container as docker stop does: its stop signal (SIGTERM unless the image or
// the stop-signal parameter says otherwise), then SIGKILL after grace, rounded up to whole
// seconds as the Engine API counts them.
func (c *handle) Kill(ctx context.Context, grace time.Duration) error {
	if _, ok := c.known(); ok {
		return nil
	}
	secs := int(math.Ceil(max(grace, 0).Seconds()))
	err := c.ex.cli.ContainerStop(ctx, c.ref(), dcontainer.StopOptions{Timeout: &secs})
	if err != nil && !isNotFound(err) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// Status names the container, its init process and, off the host's network, its addresses.
func (c *handle) Status() *mesos.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &mesos.ContainerStatus{ContainerID: mesos.NewID(c.spec.ContainerID)}
	if c.pid > 0 {
		pid := uint32(c.pid)
		st.ExecutorPID = &pid
	}
	st.NetworkInfos = append([]mesos.NetworkInfo(nil), c.nets...)
	return st
}

func (c *handle) ref() string {
	if c.id != "" {
		return c.id
	}
	return c.name
}
