package agentsim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Config configures a simulator.
type Config struct {
	Masters    []string // base URLs of any masters
	Count      int      // agents to simulate
	Resources  mesos.Resources
	Attributes []mesos.Attribute
	AuthToken  string
	// HeartbeatInterval between HEARTBEAT calls; 0 uses the interval the master sends.
	HeartbeatInterval time.Duration
	// TaskDuration, when positive, finishes every task (TASK_FINISHED) that long after launch.
	TaskDuration time.Duration
	// ResendInterval: unacknowledged updates are sent again after it. Default 2s.
	ResendInterval time.Duration
	// Hostname of agent i is HostnameFunc(i); default "127.0.0.1".
	HostnameFunc func(i int) string
	TLSConfig    *tls.Config // client side, for https masters
	Logger       *slog.Logger
}

// Sim is a set of simulated agents.
type Sim struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	agents []*simAgent
	prefix [8]byte // uuid prefix unique to this simulator

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
}

// New returns a simulator; nothing runs until Start.
func New(cfg Config) *Sim {
	if cfg.ResendInterval <= 0 {
		cfg.ResendInterval = 2 * time.Second
	}
	if cfg.HostnameFunc == nil {
		cfg.HostnameFunc = func(int) string { return "127.0.0.1" }
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     0,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		TLSClientConfig:     cfg.TLSConfig,
		ForceAttemptHTTP2:   cfg.TLSConfig != nil, // over TLS, streams share connections (HTTP/2)
	}
	s := &Sim{
		cfg: cfg,
		log: log,
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	_, _ = rand.Read(s.prefix[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := range cfg.Count {
		s.agents = append(s.agents, &simAgent{sim: s, idx: i, tasks: map[taskKey]*simTask{}})
	}
	return s
}

// Start starts every agent; they register in the background (see WaitRegistered).
func (s *Sim) Start(ctx context.Context) error {
	if len(s.cfg.Masters) == 0 {
		return errors.New("agentsim: no masters configured")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.startOnce.Do(func() {
		for _, a := range s.agents {
			s.startAgent(a)
		}
	})
	return nil
}

func (s *Sim) startAgent(a *simAgent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil || s.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	a.cancel = cancel
	done := make(chan struct{})
	a.done = done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		a.run(ctx)
	}()
}

// WaitRegistered waits until every running agent is registered with a leading master.
func (s *Sim) WaitRegistered(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		missing := 0
		for _, a := range s.agents {
			if a.running() && !a.connected.Load() {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("agentsim: %d of %d agents not registered: %w", missing, len(s.agents), ctx.Err())
		case <-t.C:
		}
	}
}

// Close stops every agent and waits for their goroutines. It is idempotent.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.client.CloseIdleConnections()
	})
}

// Tasks returns how many tasks the agents run (not yet in a terminal state).
func (s *Sim) Tasks() int {
	n := 0
	for _, a := range s.agents {
		a.mu.Lock()
		for _, t := range a.tasks {
			if !t.state.Terminal() {
				n++
			}
		}
		a.mu.Unlock()
	}
	return n
}

// AgentIDs returns each agent's id ("" until it registered), by index.
func (s *Sim) AgentIDs() []string {
	out := make([]string, len(s.agents))
	for i, a := range s.agents {
		a.mu.Lock()
		out[i] = a.id
		a.mu.Unlock()
	}
	return out
}

// StopAgent stops agent i as a crash would: its stream closes, its tasks are kept.
func (s *Sim) StopAgent(i int) {
	a := s.agents[i]
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.cancel = nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// StartAgent restarts a stopped agent i: it re-registers with its id and tasks.
func (s *Sim) StartAgent(i int) { s.startAgent(s.agents[i]) }

// newUUID returns a status update uuid unique within the simulator.
func (s *Sim) newUUID(seq uint64) []byte {
	b := make([]byte, 16)
	copy(b, s.prefix[:])
	binary.BigEndian.PutUint64(b[8:], seq)
	return b
}

// findLeader asks the masters (through /master/redirect) for the leader's base URL. A master
// that does not answer within redirectTimeout is passed over: its machine may be dead.
func (s *Sim) findLeader(ctx context.Context) (string, error) {
	var errs []error
	for _, base := range s.cfg.Masters {
		base = strings.TrimRight(base, "/")
		rctx, cancel := context.WithTimeout(ctx, redirectTimeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, base+"/master/redirect", nil)
		if err != nil {
			cancel()
			return "", err
		}
		resp, err := s.client.Do(req)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect {
			errs = append(errs, fmt.Errorf("%s/master/redirect: %s", base, resp.Status))
			continue
		}
		loc := resp.Header.Get("Location")
		scheme, _, _ := strings.Cut(base, "://")
		if strings.HasPrefix(loc, "//") {
			loc = scheme + ":" + loc
		}
		return strings.TrimRight(loc, "/"), nil
	}
	return "", fmt.Errorf("agentsim: no leader: %w", errors.Join(errs...))
}

// redirectTimeout bounds each master's answer to findLeader.
const redirectTimeout = time.Second

var seqCounter atomic.Uint64
