package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/marina-dcos/marina/internal/agent/executor"
)

// Name is the executor's name in checkpoints.
const Name = "docker"

// Client is the part of the Docker Engine API the executor uses; *client.Client implements it.
type Client interface {
	Ping(ctx context.Context) (types.Ping, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig,
		net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, opts container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	Close() error
}

var _ Client = (*client.Client)(nil)

// Config configures the Docker executor.
type Config struct {
	// Client talks to the engine; default: the engine the environment names (DOCKER_HOST, or
	// the local socket), with the API version negotiated.
	Client Client
	Logger *slog.Logger
	// AllowPrivileged lets tasks ask for privileged containers and added capabilities; they
	// fail to launch otherwise.
	AllowPrivileged bool
	// AgentID scopes Orphans: only containers labelled with it are considered. Containers are
	// labelled with the agent id of their launch (executor.Spec.AgentID).
	AgentID string
	// Labels are added to every container (after the task's labels, before Marina's own).
	Labels map[string]string
	// PublishedAt is the address where the engine publishes containers' host ports when that is
	// not the agent's own: for an agent that runs in a container of its own (a docker-provider
	// cluster), its network's gateway. The executor then listens on the TCP and UDP host ports of every
	// BRIDGE or USER task in the agent's network namespace and relays connections there, so a
	// task answers at its agent's address, where Marathon reports it (forward.go).
	PublishedAt string
}

// Executor is the Docker executor.
type Executor struct {
	cfg       Config
	cli       Client
	ownClient bool
	log       *slog.Logger

	ctx    context.Context // parent of the log followers; cancelled by Close
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	followers map[string]*follower // by container id
	forwards  map[string]*forward  // by container id
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ executor.Executor = (*Executor)(nil)

// New returns a Docker executor. It does not contact the engine: Available does.
func New(cfg Config) (*Executor, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Executor{cfg: cfg, cli: cfg.Client, log: cfg.Logger, followers: map[string]*follower{}, forwards: map[string]*forward{}}
	if e.cli == nil {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker executor: %w", err)
		}
		e.cli, e.ownClient = c, true
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// Available returns nil when the engine answers.
func (e *Executor) Available(ctx context.Context) error {
	if _, err := e.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker engine unreachable: %w", err)
	}
	return nil
}

// Name returns "docker".
func (e *Executor) Name() string { return Name }

// Client returns the engine client the executor uses.
func (e *Executor) Client() Client { return e.cli }

// errClosed is returned by Launch and Recover once the executor is closed.
var errClosed = errors.New("docker executor: closed")

// Launch pulls the task's image when needed, then creates and starts its container. It returns
// once the container started; a pull or start that fails is the launch's error.
func (e *Executor) Launch(ctx context.Context, spec executor.Spec) (executor.Container, error) {
	if e.isClosed() {
		return nil, errClosed
	}
	cs, err := buildCreate(spec, buildOptions{allowPrivileged: e.cfg.AllowPrivileged, labels: e.cfg.Labels})
	if err != nil {
		return nil, err
	}
	log := e.log.With("task", spec.Task.TaskID.Value, "container", spec.ContainerID)
	if err := os.MkdirAll(spec.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := writeState(spec.StateDir, state{Name: cs.name, Image: cs.config.Image}); err != nil {
		return nil, err
	}
	if err := e.ensureImage(ctx, cs.config.Image, forcePull(spec)); err != nil {
		return nil, err
	}
	// The sandbox's output files exist from the start, as a process task's do.
	for _, f := range []string{stdoutFile, stderrFile} {
		if err := touch(filepath.Join(spec.Sandbox, f)); err != nil {
			return nil, err
		}
	}
	created, err := e.cli.ContainerCreate(ctx, cs.config, cs.host, cs.net, nil, cs.name)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		// A container that never ran is of no use to anyone: remove it now, so a caller
		// that does not call Cleanup leaves nothing behind.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		if rerr := e.cli.ContainerRemove(rctx, created.ID, container.RemoveOptions{Force: true}); rerr != nil && !isNotFound(rerr) {
			log.Warn("remove container that did not start", "err", rerr)
		}
		cancel()
		return nil, fmt.Errorf("start container: %w", err)
	}
	c := &handle{ex: e, spec: spec, name: cs.name, id: created.ID, netMode: cs.netMode, netName: cs.netName, started: true}
	c.follower = e.follow(spec, created.ID)
	if info, err := e.cli.ContainerInspect(ctx, created.ID); err == nil {
		c.describe(info)
	} else {
		log.Warn("inspect started container", "err", err)
	}
	e.startForward(spec.ContainerID, forwardedPorts(spec.Task.Container, spec.Task.Resources))
	log.Debug("container started", "name", cs.name, "id", created.ID)
	return c, nil
}

// Cleanup stops following the container's logs and removes the container, recording its exit
// first when nobody read it yet.
func (e *Executor) Cleanup(ctx context.Context, spec executor.Spec) error {
	e.stopFollower(spec.ContainerID)
	e.stopForward(spec.ContainerID)
	st, err := readState(spec.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := readExit(spec.StateDir); !ok {
		if info, err := e.cli.ContainerInspect(ctx, st.Name); err == nil && info.State != nil && !info.State.Running {
			if x, ok := exitOf(info.State); ok {
				_ = writeExit(spec.StateDir, x)
			}
		}
	}
	err = e.cli.ContainerRemove(ctx, st.Name, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container %s: %w", st.Name, err)
	}
	return nil
}

// Close stops the log followers and port forwards and releases the client's idle connections. Containers keep
// running, and handles keep working; a new executor recovers the containers and resumes their
// logs. Close is idempotent.
func (e *Executor) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		e.cancel()
		e.wg.Wait()
		if e.ownClient {
			// The client's Close only drops idle connections: handles still reach the engine.
			_ = e.cli.Close()
		}
	})
	return nil
}

func (e *Executor) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

func touch(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return f.Close()
}
