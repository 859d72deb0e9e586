package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/marina-dcos/marina/internal/agent/health"
)

// maxExecOutput bounds the output Exec keeps: the tail of what the command wrote.
const maxExecOutput = 4 << 10

// execKillTimeout bounds the engine calls that kill a command whose context ended.
const execKillTimeout = 5 * time.Second

var _ health.Container = (*handle)(nil)

// Exec runs argv inside the container through the Engine API (exec create, attach, inspect),
// as the container's user in its working directory, with env added to its environment. It
// returns the exit code and the last maxExecOutput bytes of the command's stdout and stderr.
// When ctx ends first, the command's process group is killed with SIGKILL and ctx's error
// returned: the Engine API has no call to stop an exec, so the executor signals it by the host
// pid the engine reports, when it sees that pid in the container (see killExec).
func (c *handle) Exec(ctx context.Context, argv, env []string) (int, []byte, error) {
	cli := c.ex.cli
	created, err := cli.ContainerExecCreate(ctx, c.ref(), dcontainer.ExecOptions{
		Cmd: argv, Env: env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, nil, fmt.Errorf("exec in container: %w", err)
	}
	att, err := cli.ContainerExecAttach(ctx, created.ID, dcontainer.ExecAttachOptions{})
	if err != nil {
		return -1, nil, fmt.Errorf("start exec: %w", err)
	}
	defer att.Close()
	out := &tail{max: maxExecOutput}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, att.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		c.killExec(created.ID)
		att.Close()
		<-copied
		return -1, out.bytes(), ctx.Err()
	}
	if err != nil && ctx.Err() == nil {
		return -1, out.bytes(), fmt.Errorf("read exec output: %w", err)
	}
	// The stream ends with the command; the engine records its exit a moment later.
	delay := 5 * time.Millisecond
	for {
		info, err := cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			if ctx.Err() != nil {
				c.killExec(created.ID)
				return -1, out.bytes(), ctx.Err()
			}
			return -1, out.bytes(), fmt.Errorf("inspect exec: %w", err)
		}
		if !info.Running {
			return info.ExitCode, out.bytes(), nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			c.killExec(created.ID)
			return -1, out.bytes(), ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// killExec kills a running exec's process group: the engine starts every exec as the leader
// of a session of its own. The pid the engine reports is the host's: it is signalled only when
// this process sees it in the container's cgroup, so an agent in another pid namespace than
// the engine's never signals a process of its own by mistake.
func (c *handle) killExec(execID string) {
	ctx, cancel := context.WithTimeout(context.Background(), execKillTimeout)
	defer cancel()
	info, err := c.ex.cli.ContainerExecInspect(ctx, execID)
	if err != nil || !info.Running || info.Pid <= 0 {
		return
	}
	if !inContainer(info.Pid, info.ContainerID) {
		c.ex.log.Warn("cannot kill a timed-out exec: its pid is not visible here", "container", c.spec.ContainerID, "pid", info.Pid)
		return
	}
	err = syscall.Kill(-info.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(info.Pid, syscall.SIGKILL)
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		c.ex.log.Warn("kill timed-out exec", "container", c.spec.ContainerID, "pid", info.Pid, "err", err)
	}
}

// inContainer reports whether pid is, in this process's view, a process of the Docker
// container dockerID: its cgroup paths name the container (/docker/<id>, or
// docker-<id>.scope with systemd).
func inContainer(pid int, dockerID string) bool {
	if dockerID == "" {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return err == nil && strings.Contains(string(b), dockerID)
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tail) bytes() []byte { return t.buf }
