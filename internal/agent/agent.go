package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/docker"
	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Config configures an agent.
type Config struct {
	ID        string   // unused: the agent's id is assigned by the master and checkpointed
	Masters   []string // base URLs of all masters, e.g. "http://127.0.0.1:5050"
	Listen    string   // HTTP listen address, default "127.0.0.1:5051"
	Advertise string   // host:port masters and tools reach this agent at; default: the listener's address
	Hostname  string   // default os.Hostname()
	WorkDir   string   // required: meta/ (checkpoints) and sandboxes/
	// Resources offered; nil detects them: cpus = NumCPU, mem = total - 1GiB (min 1GiB),
	// disk = free space of WorkDir - 5GiB (min 1GiB), ports [31000-32000].
	Resources  mesos.Resources
	Attributes []mesos.Attribute
	// AuthToken is sent to masters as a bearer token, and required on the agent's own API.
	AuthToken  string
	HTTPClient *http.Client // optional; the stream needs no client timeout
	// TLSConfig, when set, makes the agent's API serve https. ClientTLS verifies https masters
	// (and presents the node's certificate) when HTTPClient is nil.
	TLSConfig *tls.Config
	ClientTLS *tls.Config
	// HeartbeatInterval between HEARTBEAT calls; default 5s (the master's interval when shorter).
	HeartbeatInterval time.Duration
	// Timeout after which a stream silent from the master is dead; default 15s.
	Timeout time.Duration
	// ExecutorPath is the program started as task supervisor; default os.Executable(). It must
	// call supervisor.MaybeRun first.
	ExecutorPath string
	// Containerizers names the executors to run: "process" (alias "mesos") and "docker". Nil
	// means process, plus docker when a Docker Engine answers; naming docker makes an
	// unreachable engine an error at start.
	Containerizers []string
	// DockerAllowPrivileged lets docker tasks run privileged or with added capabilities.
	DockerAllowPrivileged bool
	// DockerPublishedAt is where the engine publishes docker tasks' host ports when that is not
	// the agent's own address (an agent in a container: its network's gateway); the agent then
	// relays those ports from its own address (docker.Config.PublishedAt).
	DockerPublishedAt string
	Logger            *slog.Logger
}

// Defaults.
const (
	DefaultListen            = "127.0.0.1:5051"
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultTimeout           = 15 * time.Second
	DefaultKillGrace         = 3 * time.Second
)

// Agent is a Mesos agent.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client // never follows redirects
	ownTr  *http.Transport
	dir    layout
	now    func() time.Time
	sync   *fsutil.Syncer // makes checkpoints durable in batches

	// Tunables, set by tests before Start.
	updateBackoffMin, updateBackoffMax   time.Duration
	connectBackoffMin, connectBackoffMax time.Duration
	cgroups                              *cgroups.Manager
	executors                            map[string]executor.Executor

	ln        net.Listener
	srv       *http.Server
	advertise string // host:port
	startTime time.Time

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
	started   bool

	registered     chan struct{}
	registeredOnce sync.Once
	wake           chan struct{} // kicks the update loop

	mu           sync.Mutex
	savedID      string // checkpointed id, "" before the first registration ever
	id           string // id confirmed by REGISTERED in this process
	sess         *session
	disconnected bool
	reconnect    chan struct{} // closed by Reconnect
	frameworks   map[string]*framework
	tasks        map[taskKey]*task
	pendingSet   map[taskKey]*task // tasks with unacknowledged updates
	completed    []*task           // terminal and acknowledged, newest last, bounded
	doneFws      []mesos.FrameworkInfo
	trashed      uint64 // directories moved to the trash, for their names

	// counters counts terminal updates, for /metrics/snapshot.
	counters taskCounters
}

// maxCompleted bounds what /state shows of finished tasks and frameworks.
const maxCompleted = 1000

// New checks cfg and returns an agent; Start runs it.
func New(cfg Config) (*Agent, error) {
	if cfg.WorkDir == "" {
		return nil, errors.New("agent: WorkDir is required")
	}
	if len(cfg.Masters) == 0 {
		return nil, errors.New("agent: no masters")
	}
	wd, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("agent: work dir: %w", err)
	}
	cfg.WorkDir = wd
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: hostname: %w", err)
		}
		cfg.Hostname = h
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resources != nil {
		if err := cfg.Resources.Validate(); err != nil {
			return nil, fmt.Errorf("agent: resources: %w", err)
		}
	}
	a := &Agent{
		cfg:               cfg,
		log:               cfg.Logger,
		dir:               layout{root: cfg.WorkDir},
		now:               time.Now,
		updateBackoffMin:  time.Second,
		updateBackoffMax:  30 * time.Second,
		connectBackoffMin: 100 * time.Millisecond,
		connectBackoffMax: 2 * time.Second,
		registered:        make(chan struct{}),
		wake:              make(chan struct{}, 1),
		reconnect:         make(chan struct{}),
		frameworks:        map[string]*framework{},
		tasks:             map[taskKey]*task{},
		pendingSet:        map[taskKey]*task{},
	}
	a.sync = fsutil.NewSyncer(a.log, a.kick)
	return a, nil
}

// Start binds the listener, recovers checkpointed tasks and starts registering with the
// masters. It returns once the agent is listening. ctx bounds Start only: Close stops the
// agent.
func (a *Agent) Start(ctx context.Context) error {
	err := errors.New("agent: already started")
	a.startOnce.Do(func() { err = a.start(ctx) })
	return err
}

func (a *Agent) start(ctx context.Context) error {
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.startTime = a.now()
	// What an earlier agent left in the trash is no longer wanted.
	if err := os.RemoveAll(a.dir.trash()); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	for _, d := range []string{a.dir.meta(), a.dir.sandboxes(), a.dir.trash()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	if a.cfg.Resources == nil {
		res, err := detectResources(a.cfg.WorkDir)
		if err != nil {
			return fmt.Errorf("agent: detect resources: %w", err)
		}
		a.cfg.Resources = res
	}
	if err := a.loadAgentID(); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := a.setupExecutors(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		a.closeExecutors()
		return fmt.Errorf("agent: listen: %w", err)
	}
	if a.cfg.TLSConfig != nil {
		ln = tls.NewListener(ln, a.cfg.TLSConfig)
	}
	a.ln = ln
	a.advertise = advertiseAddr(a.cfg.Advertise, ln.Addr().String(), a.cfg.Hostname)
	a.setupClient(ln.Addr())
	if err := a.recover(); err != nil {
		ln.Close()
		a.cancel()
		a.wg.Wait()
		a.closeExecutors()
		return fmt.Errorf("agent: recover: %w", err)
	}
	a.cleanupOrphans(ctx)
	a.srv = &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	a.started = true
	a.goTracked(func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	})
	a.goTracked(func() { a.sync.Run(a.ctx) })
	a.goTracked(a.connectLoop)
	a.goTracked(a.updateLoop)
	a.goTracked(a.gcLoop)
	a.log.Info("agent started", "addr", a.advertise, "work_dir", a.cfg.WorkDir,
		"resources", a.cfg.Resources.String(), "tasks", len(a.tasks))
	return nil
}

func (a *Agent) setupExecutors(ctx context.Context) error {
	if a.executors != nil {
		return nil
	}
	want, explicit, err := containerizers(a.cfg.Containerizers)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.executors = map[string]executor.Executor{}
	if want[process.Name] {
		if a.cgroups == nil {
			a.cgroups = cgroups.Detect()
		}
		if a.cgroups.Enabled() {
			a.log.Info("task resource limits enforced", "cgroups", a.cgroups.String())
		} else {
			a.log.Warn("tasks run without resource limits", "reason", a.cgroups.Reason())
		}
		pe, err := process.New(process.Config{Path: a.cfg.ExecutorPath, Cgroups: a.cgroups, Logger: a.log})
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		pe.Start()
		a.executors[pe.Name()] = pe
	}
	if want[docker.Name] {
		if err := a.setupDocker(ctx, explicit); err != nil {
			a.closeExecutors()
			return err
		}
	}
	return nil
}

// setupDocker adds the docker executor when the engine answers, and advertises it as the
// attribute docker:true so that frameworks can keep docker tasks off agents without it. An
// engine that does not answer is an error only when docker was asked for explicitly.
func (a *Agent) setupDocker(ctx context.Context, explicit bool) error {
	de, err := docker.New(docker.Config{
		Logger:          a.log.With("executor", docker.Name),
		AllowPrivileged: a.cfg.DockerAllowPrivileged,
		PublishedAt:     a.cfg.DockerPublishedAt,
		AgentID:         a.savedID,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = de.Available(actx)
	cancel()
	if err != nil {
		_ = de.Close()
		if explicit {
			return fmt.Errorf("agent: --containerizers docker: %w", err)
		}
		a.log.Info("docker tasks disabled", "reason", err)
		return nil
	}
	a.executors[de.Name()] = de
	for _, attr := range a.cfg.Attributes {
		if attr.Name == docker.Name {
			return nil
		}
	}
	a.cfg.Attributes = append(a.cfg.Attributes, mesos.Attribute{
		Name: docker.Name, Type: mesos.Text, Text: &mesos.TextValue{Value: "true"},
	})
	return nil
}

// containerizers resolves the configured executor names; explicit reports whether docker was
// named rather than defaulted.
func containerizers(names []string) (want map[string]bool, explicit bool, err error) {
	if len(names) == 0 {
		return map[string]bool{process.Name: true, docker.Name: true}, false, nil
	}
	want = map[string]bool{}
	for _, n := range names {
		switch n {
		case process.Name, "mesos":
			want[process.Name] = true
		case docker.Name:
			want[docker.Name] = true
		default:
			return nil, false, fmt.Errorf("unknown containerizer %q (known: process, docker)", n)
		}
	}
	return want, want[docker.Name], nil
}

// cleanupOrphans removes docker containers of this agent that no checkpointed task owns. It
// runs after recovery and before any launch, whose new container no checkpoint names yet.
func (a *Agent) cleanupOrphans(ctx context.Context) {
	de, ok := a.executors[docker.Name].(*docker.Executor)
	if !ok || a.savedID == "" {
		return
	}
	known := map[string]bool{}
	a.mu.Lock()
	for _, t := range a.tasks {
		if t.rec.Executor == docker.Name && t.rec.ContainerID != "" {
			known[t.rec.ContainerID] = true
		}
	}
	a.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	removed, err := de.CleanupOrphans(cctx, known)
	if err != nil {
		a.log.Warn("remove orphan containers", "err", err)
	}
	if len(removed) > 0 {
		a.log.Info("removed orphan containers", "count", len(removed))
	}
}

// closeExecutors releases what the executors keep for launches to come; tasks keep running.
func (a *Agent) closeExecutors() {
	for name, ex := range a.executors {
		if err := ex.Close(); err != nil {
			a.log.Warn("close executor", "executor", name, "err", err)
		}
	}
}

// setupClient prepares the HTTP client for the masters. An agent listening on a specific
// address dials from it too, so masters see the address the agent is reached at.
func (a *Agent) setupClient(listen net.Addr) {
	var c http.Client
	if a.cfg.HTTPClient != nil {
		c = *a.cfg.HTTPClient
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = dialFrom(listen)
		tr.TLSClientConfig = a.cfg.ClientTLS
		a.ownTr = tr
		c.Transport = tr
	}
	c.Timeout = 0
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a.client = &c
}

// dialFrom returns a dial function that connects from the listener's IP when that can reach
// the destination (a loopback source only reaches loopback destinations), and from any
// address otherwise or when binding fails.
func dialFrom(listen net.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	plain := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	ta, ok := listen.(*net.TCPAddr)
	if !ok || ta.IP.IsUnspecified() {
		return plain.DialContext
	}
	bound := &net.Dialer{Timeout: plain.Timeout, KeepAlive: plain.KeepAlive, LocalAddr: &net.TCPAddr{IP: ta.IP}}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && ta.IP.IsLoopback() {
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return plain.DialContext(ctx, network, addr)
			}
		}
		c, err := bound.DialContext(ctx, network, addr)
		if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EINVAL) {
			return plain.DialContext(ctx, network, addr)
		}
		return c, err
	}
}

// advertiseAddr returns the host:port to advertise: the configured one, else the listener's,
// with the hostname standing in for an unspecified address.
func advertiseAddr(cfg, listen, hostname string) string {
	if cfg != "" {
		return cfg
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = hostname
	}
	return net.JoinHostPort(host, port)
}

func (a *Agent) goTracked(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// Addr returns the address the agent listens on, host:port.
func (a *Agent) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// ID returns the agent's id once the master confirmed it in this process, "" before.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Registered is closed when the agent first registers.
func (a *Agent) Registered() <-chan struct{} { return a.registered }

// Close stops the HTTP server, the master stream and the supervisors kept warm for launches.
// Tasks keep running: a new agent with the same WorkDir recovers them. Close is idempotent.
func (a *Agent) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if !a.started {
			if a.cancel != nil {
				a.cancel()
			}
			return
		}
		a.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = a.srv.Shutdown(ctx)
		if err != nil {
			err = a.srv.Close()
		}
		a.wg.Wait()
		a.closeExecutors()
		if a.ownTr != nil {
			a.ownTr.CloseIdleConnections()
		}
		a.log.Info("agent stopped")
	})
	return err
}

// Disconnect drops the master stream and keeps the agent from reconnecting until Reconnect,
// as a network partition would. Tasks keep running and updates queue up.
func (a *Agent) Disconnect() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.disconnected {
		return
	}
	a.disconnected = true
	a.reconnect = make(chan struct{})
	if a.sess != nil {
		a.sess.cancel()
	}
	a.log.Info("disconnected from masters")
}

// Reconnect lets a disconnected agent reach the masters again.
func (a *Agent) Reconnect() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.disconnected {
		return
	}
	a.disconnected = false
	close(a.reconnect)
	a.log.Info("reconnecting to masters")
}

// pid returns the agent's libprocess-style pid, "slave(1)@host:port".
func (a *Agent) pid() string { return "slave(1)@" + a.advertise }

// advertisePort returns the advertised port.
func (a *Agent) advertisePort() int32 {
	_, p, err := net.SplitHostPort(a.advertise)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}
