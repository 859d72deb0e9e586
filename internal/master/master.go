package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/master/allocator"
)

// LeaderPrefix is the etcd election prefix masters campaign on.
const LeaderPrefix = "/marina/master/leader"

// Config configures a master.
type Config struct {
	Listen    string           // default "127.0.0.1:5050"
	Advertise string           // host:port others reach us at (default: actual listen address)
	Hostname  string           // default: the host's name
	Etcd      *clientv3.Client // required
	LeaderTTL time.Duration    // election session TTL, default 2s
	// AuthToken, when set, is required as "Authorization: Bearer <token>" by every endpoint but
	// /health, /version and /master/redirect; others answer 401 without it.
	AuthToken string
	// AgentHeartbeat is the interval sent to agents in REGISTERED; the master sends HEARTBEAT
	// events at it too. Default 5s, or a third of AgentTimeout when that is shorter.
	AgentHeartbeat time.Duration
	// AgentTimeout: an agent whose stream is silent or closed this long is unreachable. Default 15s.
	AgentTimeout time.Duration
	// AgentReregisterTimeout: after a failover, agents of the registry that have not
	// re-registered by then are unreachable. Default 60s.
	AgentReregisterTimeout time.Duration
	SchedulerHeartbeat     time.Duration // HEARTBEAT events to schedulers, sent in SUBSCRIBED; default 1s
	OfferTimeout           time.Duration // 0: offers never time out; else rescinded after it
	AllocationDelay        time.Duration // allocation triggers within it are batched; default 2ms
	RoleWeights            map[string]float64
	Version                string // Mesos API version spoken; default "1.11.0"
	Logger                 *slog.Logger
	TLSConfig              *tls.Config // optional, server side

	// RegistryMaxAgentAge: an agent unreachable for longer is removed from the registry, with its
	// unreachable tasks. Default 336h (2 weeks), as Mesos' --registry_max_agent_age.
	RegistryMaxAgentAge time.Duration
	// RegistryMaxAgentCount: beyond this many unreachable agents, the oldest are removed from the
	// registry. Default 102400, as Mesos' --registry_max_agent_count.
	RegistryMaxAgentCount int
}

func (c *Config) defaults() error {
	if c.Etcd == nil {
		return errors.New("master: Config.Etcd is required")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:5050"
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		c.Hostname = h
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.LeaderTTL, 2*time.Second)
	def(&c.AgentTimeout, 15*time.Second)
	// Both ends judge liveness by the other's heartbeats: keep them well inside the timeout.
	def(&c.AgentHeartbeat, min(5*time.Second, c.AgentTimeout/3))
	def(&c.AgentReregisterTimeout, 60*time.Second)
	def(&c.RegistryMaxAgentAge, 14*24*time.Hour)
	if c.RegistryMaxAgentCount <= 0 {
		c.RegistryMaxAgentCount = 102400
	}
	// A scheduler whose master died silently notices after a few missed heartbeats: keep them
	// short. Frameworks are few; agents, which are many, are told of a new leader instead
	// (announceLeadership).
	def(&c.SchedulerHeartbeat, time.Second)
	def(&c.AllocationDelay, 2*time.Millisecond)
	if c.OfferTimeout < 0 {
		c.OfferTimeout = 0
	}
	if c.Version == "" {
		c.Version = "1.11.0"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Master is one master process: a candidate for leadership that serves the HTTP API.
type Master struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time // wall clock; tests replace it
	started time.Time
	metrics *metrics
	handler http.Handler

	ln      net.Listener
	srv     *http.Server
	scheme  string
	advert  string // host:port
	ipPort  string // advert with its host resolved to an IP, for pids
	elector *coord.Elector

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // elector, server
	streams   sync.WaitGroup // stream handlers
	startOnce sync.Once
	closeOnce sync.Once

	leading atomic.Bool
	mu      sync.Mutex
	st      *leaderState // nil unless leading
}

// New validates cfg and returns a master; nothing runs until Start.
func New(cfg Config) (*Master, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m := &Master{cfg: cfg, log: cfg.Logger, now: time.Now, scheme: "http"}
	if cfg.TLSConfig != nil {
		m.scheme = "https"
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.metrics = newMetrics(m)
	m.handler = m.routes()
	return m, nil
}

// Start listens, then campaigns for leadership in the background. It returns once the master
// listens; ctx bounds only the start, Close stops the master.
func (m *Master) Start(ctx context.Context) error {
	err := errors.New("master: already started")
	m.startOnce.Do(func() { err = m.start(ctx) })
	return err
}

func (m *Master) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.ctx.Err() != nil {
		return errors.New("master: closed")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", m.cfg.Listen)
	if err != nil {
		return fmt.Errorf("master: listen %s: %w", m.cfg.Listen, err)
	}
	if m.cfg.TLSConfig != nil {
		ln = tls.NewListener(ln, m.cfg.TLSConfig)
	}
	m.ln = ln
	m.advert = m.cfg.Advertise
	if m.advert == "" {
		m.advert = advertiseFor(ln.Addr().String(), m.cfg.Hostname)
	}
	m.ipPort = m.advert
	if host, port, err := net.SplitHostPort(m.advert); err == nil {
		m.ipPort = net.JoinHostPort(resolveIP(host), port)
	}
	m.started = m.now()
	m.srv = &http.Server{
		Handler:           m.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("serve", "err", err)
		}
	}()
	m.elector = coord.NewElector(m.cfg.Etcd, coord.ElectorConfig{
		Prefix:     LeaderPrefix,
		Value:      m.URL(),
		TTL:        m.cfg.LeaderTTL,
		LeaderDead: leaderDead,
		Logger:     m.log,
	})
	m.elector.Observe(m.ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.elector.Run(m.ctx, m.lead)
	}()
	m.log.Info("master listening", "addr", m.Addr(), "url", m.URL())
	return nil
}

// advertiseFor returns the address to advertise for a listener at addr: addr itself unless it
// is a wildcard address, then the hostname with its port.
func advertiseFor(addr, hostname string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort(hostname, port)
	}
	return addr
}

// leaderDead reports whether the leader at URL leader is certainly gone: its address refuses
// TCP connections. A timeout, as a partition causes, is not proof.
func leaderDead(ctx context.Context, leader string) bool {
	u, err := url.Parse(leader)
	if err != nil || u.Host == "" {
		return false
	}
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// Addr returns the address the master listens on.
func (m *Master) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// URL returns the master's advertised base URL, "http://<advertise>".
func (m *Master) URL() string {
	if m.advert == "" {
		return ""
	}
	return m.scheme + "://" + m.advert
}

// IsLeader reports whether this master leads and serves the API.
func (m *Master) IsLeader() bool { return m.leading.Load() }

// Leader returns the leading master's URL, or "" when none is known.
func (m *Master) Leader() string {
	if m.IsLeader() {
		return m.URL()
	}
	if m.elector == nil {
		return ""
	}
	return m.elector.Leader()
}

// Handler returns the master's HTTP handler.
func (m *Master) Handler() http.Handler { return m.handler }

// Close resigns leadership, closes every stream and the listener and waits for every goroutine.
// It is idempotent.
func (m *Master) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock() // no stream handler starts once this is cancelled (see beginStream)
		m.cancel()
		m.mu.Unlock()
		if m.elector != nil {
			m.elector.Wait()
		}
		if m.srv != nil {
			_ = m.srv.Close()
		}
		m.wg.Wait()
		m.streams.Wait()
		m.log.Info("master stopped")
	})
	return nil
}

// lead runs one leadership term: it loads the registry, serves as leader until the term ends,
// then drops all in-memory state.
func (m *Master) lead(term coord.Term) {
	st, err := m.loadState(term)
	if err != nil {
		if term.Ctx.Err() == nil {
			m.log.Error("load registry; giving up leadership", "err", err)
		}
		return
	}
	m.mu.Lock()
	m.st = st
	m.leading.Store(true)
	m.metrics.elected(st)
	m.log.Info("leading", "master_id", st.id, "agents", len(st.agents), "frameworks", len(st.frameworks))
	m.mu.Unlock()

	st.wg.Add(4)
	go func() { defer st.wg.Done(); st.persist.run(term.Ctx) }()
	go func() { defer st.wg.Done(); m.allocationLoop(term.Ctx, st) }()
	go func() { defer st.wg.Done(); m.housekeeping(term.Ctx, st) }()
	go func() { defer st.wg.Done(); m.announceLeadership(term.Ctx, st) }()
	m.triggerAllocation(st)

	<-term.Ctx.Done()
	m.mu.Lock()
	m.stepDown(st)
	m.mu.Unlock()
	st.wg.Wait()
	m.log.Info("no longer leading", "master_id", st.id)
}

// stepDown drops the term's state and closes every stream; agents and schedulers find the new
// leader themselves. m.mu must be held.
func (m *Master) stepDown(st *leaderState) {
	if m.st != st {
		return
	}
	m.st = nil
	m.leading.Store(false)
	st.done = true
	st.ops.closeAll("master lost leadership")
	for _, a := range st.agents {
		if a.conn != nil {
			a.conn.q.close("master lost leadership")
		}
	}
	for _, f := range st.frameworks {
		if f.conn != nil {
			f.conn.q.close("master lost leadership")
		}
	}
}

// housekeeping marks silent agents unreachable, removes frameworks whose failover timeout
// passed and rescinds timed-out offers, on a ticker, until ctx ends.
func (m *Master) housekeeping(ctx context.Context, st *leaderState) {
	every := m.cfg.AgentTimeout / 5
	if m.cfg.OfferTimeout > 0 {
		every = min(every, m.cfg.OfferTimeout/5)
	}
	every = min(max(every, 10*time.Millisecond), 500*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		if m.st == st {
			m.checkAgents(st, time.Now(), m.now())
			m.checkFrameworks(st, m.now())
			m.checkOffers(st, time.Now())
		}
		m.mu.Unlock()
	}
}

// masterPID returns "master@ip:port".
func (m *Master) masterPID() string { return "master@" + m.ipPort }

func (m *Master) advertPort() int {
	_, port, _ := net.SplitHostPort(m.advert)
	p, _ := strconv.Atoi(port)
	return p
}

// resolveIP returns host if it is an IP, else its first IPv4 address, else host.
func resolveIP(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return host
	}
	for _, ip := range ips {
		if v4 := ip.To4(); v4 != nil {
			return v4.String()
		}
	}
	if len(ips) > 0 {
		return ips[0].String()
	}
	return host
}

func newAllocator(cfg Config) *allocator.Allocator {
	return allocator.New(allocator.Options{RoleWeights: cfg.RoleWeights})
}
