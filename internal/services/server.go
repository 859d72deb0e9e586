package services

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/coord"
)

// Version is the version /v2/info reports.
const Version = "1.11.0-marina"

// Config configures one services instance.
type Config struct {
	Listen    string           // host:port to serve on; default 127.0.0.1:8080
	Advertise string           // this instance's URL for the others; default http://<listen address>
	Masters   []string         // base URLs of the Mesos masters, the local one first
	Etcd      *clientv3.Client // required
	AuthToken string           // required from clients when set, and sent to the masters
	LeaderTTL time.Duration    // election session TTL; default 2s
	Hostname  string           // reported to the master and in /v2/info; default the listen host
	// TLSConfig, when set, makes the instance serve https. ClientTLS verifies the masters and
	// the leading instance (and presents the node's certificate) when they serve https.
	TLSConfig *tls.Config
	ClientTLS *tls.Config

	FrameworkName     string        // default "marathon"
	FailoverTimeout   time.Duration // default one week, as Marathon
	ReconcileInterval time.Duration // full reconciliation; default 10 minutes, as Marathon
	Tick              time.Duration // housekeeping period; default 1s
	MaxBodyBytes      int64         // request body limit; default 4 MiB

	Logger *slog.Logger
	Now    func() time.Time // the clock; default time.Now
}

func (c *Config) defaults() error {
	if c.Etcd == nil {
		return errors.New("services: Etcd is required")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.LeaderTTL <= 0 {
		c.LeaderTTL = 2 * time.Second
	}
	if c.FrameworkName == "" {
		c.FrameworkName = "marathon"
	}
	if c.FailoverTimeout <= 0 {
		c.FailoverTimeout = 7 * 24 * time.Hour
	}
	if c.ReconcileInterval <= 0 {
		c.ReconcileInterval = 10 * time.Minute
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 4 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Server is one services instance: an HTTP server, a candidate for the services leadership
// and, while it leads, the framework.
type Server struct {
	cfg     Config
	log     *slog.Logger
	hub     *hub
	metrics *metrics
	handler http.Handler
	proxy   *proxy

	ln      net.Listener
	srv     *http.Server
	url     string
	elector *coord.Elector
	cur     atomic.Pointer[leader] // set while this instance leads

	mu           sync.Mutex
	stopCampaign context.CancelFunc // ends the current campaign (abdication)

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
}

// New returns a services instance; nothing runs until Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, hub: newHub()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.metrics = newMetrics(s)
	s.proxy = newProxy(s)
	s.handler = s.routes()
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// Start listens, then campaigns for the services leadership in the background.
func (s *Server) Start(ctx context.Context) error {
	err := errors.New("services: already started")
	s.startOnce.Do(func() { err = s.start(ctx) })
	return err
}

func (s *Server) start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("services: listen %s: %w", s.cfg.Listen, err)
	}
	scheme := "http"
	if s.cfg.TLSConfig != nil {
		ln, scheme = tls.NewListener(ln, s.cfg.TLSConfig), "https"
	}
	s.ln = ln
	s.url = s.cfg.Advertise
	if s.url == "" {
		s.url = scheme + "://" + ln.Addr().String()
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	s.elector = coord.NewElector(s.cfg.Etcd, coord.ElectorConfig{
		Prefix:     leaderPrefix,
		Value:      s.url,
		TTL:        s.cfg.LeaderTTL,
		LeaderDead: leaderDead,
		Logger:     s.log,
	})
	s.elector.Observe(s.ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.campaign()
	}()
	s.log.Info("services listening", "url", s.url)
	return nil
}

// campaign runs for the leadership until Close. An instance that abdicated sits the next
// election out for a moment, so that another one takes over.
func (s *Server) campaign() {
	for s.ctx.Err() == nil {
		ctx, cancel := context.WithCancel(s.ctx)
		s.mu.Lock()
		s.stopCampaign = cancel
		s.mu.Unlock()
		s.elector.Run(ctx, s.lead)
		cancel()
		if s.ctx.Err() == nil {
			sleepCtx(s.ctx, 2*s.cfg.LeaderTTL)
		}
	}
}

// abdicate withdraws this instance from the election: its term ends, and it campaigns again
// only after a pause.
func (s *Server) abdicate() {
	s.mu.Lock()
	stop := s.stopCampaign
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// URL returns this instance's advertised base URL.
func (s *Server) URL() string { return s.url }

// Addr returns the address the instance listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// IsLeader reports whether this instance leads the services role.
func (s *Server) IsLeader() bool { return s.cur.Load() != nil }

// Leader returns the leading instance's URL, or "" when none is known.
func (s *Server) Leader() string {
	if s.IsLeader() {
		return s.url
	}
	if s.elector == nil {
		return ""
	}
	return s.elector.Leader()
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close resigns the leadership, closes the event streams and the listener, and waits for every
// goroutine. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.elector != nil {
			s.elector.Wait()
		}
		s.hub.closeAll()
		if s.srv != nil {
			_ = s.srv.Close()
		}
		s.wg.Wait()
		s.proxy.closeIdle()
		s.log.Info("services stopped")
	})
	return nil
}

// lead runs one term of leadership: it loads the state, serves it until the term ends, then
// drops it.
func (s *Server) lead(term coord.Term) {
	ctx, cancel := context.WithTimeout(term.Ctx, 30*time.Second)
	snap, err := load(ctx, s.cfg.Etcd)
	cancel()
	if err != nil {
		if term.Ctx.Err() == nil {
			s.log.Error("loading the services state failed; giving up the leadership", "err", err)
		}
		return
	}
	l := newLeader(s, term, snap)
	s.cur.Store(l)
	s.metrics.leader.Set(1)
	s.log.Info("leading the services role", "apps", len(snap.apps), "instances", len(snap.instances), "deployments", len(snap.deployments))
	l.run()
	s.cur.Store(nil)
	s.metrics.leader.Set(0)
	s.hub.closeAll()
	s.log.Info("services leadership ended")
}

// frameworkInfo is how the services role registers with the master: a MULTI_ROLE framework, its
// roles filled in for each subscription (frameworkRoles).
func (s *Server) frameworkInfo() mesos.FrameworkInfo {
	host := s.cfg.Hostname
	if host == "" {
		host, _, _ = net.SplitHostPort(s.Addr())
	}
	return mesos.FrameworkInfo{
		User:            "root",
		Name:            s.cfg.FrameworkName,
		FailoverTimeout: new(s.cfg.FailoverTimeout.Seconds()),
		Checkpoint:      new(true),
		Hostname:        host,
		WebuiURL:        s.url,
		Capabilities:    []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}, {Type: mesos.CapabilityMultiRole}},
	}
}

// leaderDead reports whether the leader at URL leader certainly is gone: its address refuses
// connections. A timeout, as a partition causes, is no proof.
func leaderDead(ctx context.Context, leader string) bool {
	host := leader
	if u, err := parseURL(leader); err == nil {
		host = u.Host
	}
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", host)
	if err == nil {
		c.Close()
		return false
	}
	return isConnRefused(err)
}
