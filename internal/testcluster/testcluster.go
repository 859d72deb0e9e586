package testcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/node"
	"github.com/marina-dcos/marina/internal/testutil"
)

// Options shape a test cluster. Zero values give short, test-friendly timeouts.
type Options struct {
	Masters      int           // default 1
	Agents       int           // default 0
	AuthToken    string        // when set, every node requires it
	AgentTimeout time.Duration // default 2s
	LeaderTTL    time.Duration // default 1s
	// AgentResources, when set, replaces each agent's default "cpus:4;mem:4096;disk:10240" and its
	// own port range.
	AgentResources mesos.Resources
	// Services runs the services role (the Marathon API) on every master node.
	Services bool
	// TLS runs every listener and etcd under TLS with a cluster CA, and mutual TLS between
	// nodes, as a cluster made with generated credentials; CAFile and ClientTLS reach it.
	TLS bool
	// SilentDeath puts a TCP proxy in front of each master's API, at the address the master
	// advertises, so that KillMasterSilently can make a master vanish without a FIN or RST.
	SilentDeath bool
}

// Cluster is a running in-process cluster.
type Cluster struct {
	t       testing.TB
	opts    Options
	dir     string
	mu      sync.Mutex
	masters []*Master
	agents  []*Agent
	pki     *clusterPKI // Options.TLS
}

// Master is one master node slot; Node is nil while it is stopped.
type Master struct {
	Index       int
	URL         string
	ServicesURL string // the node's services role, "" unless Options.Services
	Node        *node.MasterNode
	cfg         node.MasterConfig
	hole        *blackhole // Options.SilentDeath
}

// Agent is one agent slot; Agent is nil while it is stopped.
type Agent struct {
	Index int
	IP    string
	Agent *agent.Agent
	cfg   agent.Config
}

// Resources returns what the agent offers.
func (a *Agent) Resources() mesos.Resources { return a.cfg.Resources }

// New starts a cluster and registers its shutdown with t.Cleanup. It returns once a master leads
// and every agent has registered.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Masters == 0 {
		opts.Masters = 1
	}
	if opts.AgentTimeout == 0 {
		opts.AgentTimeout = 2 * time.Second
	}
	if opts.LeaderTTL == 0 {
		opts.LeaderTTL = time.Second
	}
	c := &Cluster{t: t, opts: opts, dir: t.TempDir()}
	t.Cleanup(c.Close)
	if opts.TLS {
		var err error
		if c.pki, err = newClusterPKI(c.dir); err != nil {
			t.Fatalf("testcluster: %v", err)
		}
	}

	initial := make([]string, opts.Masters)
	for i := range opts.Masters {
		port := testutil.FreePort(t)
		m := &Master{Index: i, URL: fmt.Sprintf("%s://127.0.0.1:%d", c.scheme(), port)}
		m.cfg = node.MasterConfig{
			IP:             "127.0.0.1",
			Port:           port,
			WorkDir:        filepath.Join(c.dir, fmt.Sprintf("master%d", i)),
			EtcdClientPort: testutil.FreePort(t),
			EtcdPeerPort:   testutil.FreePort(t),
			EtcdName:       fmt.Sprintf("m%d", i),
			TickMs:         50,
			ElectionMs:     500,
			AuthToken:      opts.AuthToken,
			LeaderTTL:      opts.LeaderTTL,
			AgentTimeout:   opts.AgentTimeout,
			Logger:         testutil.Logger(t, fmt.Sprintf("master%d", i)),
			TLS:            c.nodeTLS(fmt.Sprintf("master%d", i), "127.0.0.1"),
		}
		if opts.SilentDeath {
			hole, err := newBlackhole(fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatalf("testcluster: proxy for master %d: %v", i, err)
			}
			m.hole = hole
			m.cfg.Advertise = fmt.Sprintf("127.0.0.1:%d", hole.port())
			m.URL = fmt.Sprintf("%s://%s", c.scheme(), m.cfg.Advertise)
		}
		if opts.Services {
			m.cfg.ServicesPort = testutil.FreePort(t)
			m.ServicesURL = fmt.Sprintf("%s://127.0.0.1:%d", c.scheme(), m.cfg.ServicesPort)
		} else {
			m.cfg.DisableServices = true
		}
		initial[i] = fmt.Sprintf("m%d=%s://127.0.0.1:%d", i, c.scheme(), m.cfg.EtcdPeerPort)
		c.masters = append(c.masters, m)
	}
	for _, m := range c.masters {
		m.cfg.EtcdInitialCluster = strings.Join(initial, ",")
	}
	errs := make([]error, len(c.masters))
	var wg sync.WaitGroup
	for i := range c.masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.StartMaster(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testcluster: start masters: %v", err)
	}
	c.WaitForLeader(15 * time.Second)

	for i := range opts.Agents {
		ip := fmt.Sprintf("127.0.1.%d", i+1)
		res := opts.AgentResources
		if res == nil {
			var err error
			lo, hi := testutil.PortRange(t) // its own, also against other test processes
			res, err = mesos.ParseResources(fmt.Sprintf("cpus:4;mem:4096;disk:10240;ports:[%d-%d]", lo, hi))
			if err != nil {
				t.Fatal(err)
			}
		}
		a := &Agent{Index: i, IP: ip, cfg: agent.Config{
			Masters:           c.MasterURLs(),
			Listen:            ip + ":0",
			Hostname:          ip,
			WorkDir:           filepath.Join(c.dir, fmt.Sprintf("agent%d", i)),
			Resources:         res,
			AuthToken:         opts.AuthToken,
			Logger:            testutil.Logger(t, fmt.Sprintf("agent%d", i)),
			Timeout:           opts.AgentTimeout,
			HeartbeatInterval: opts.AgentTimeout / 4,
		}}
		if err := node.AgentTLS(&a.cfg, c.nodeTLS(fmt.Sprintf("agent%d", i), ip)); err != nil {
			t.Fatalf("testcluster: agent %d: %v", i, err)
		}
		c.agents = append(c.agents, a)
		if err := c.StartAgent(i); err != nil {
			t.Fatalf("testcluster: start agent %d: %v", i, err)
		}
	}
	for i := range c.agents {
		c.WaitForAgent(i, 15*time.Second)
	}
	return c
}

// MasterURLs returns every master's base URL.
func (c *Cluster) MasterURLs() []string {
	urls := make([]string, len(c.masters))
	for i, m := range c.masters {
		urls[i] = m.URL
	}
	return urls
}

// Masters returns the master slots.
func (c *Cluster) Masters() []*Master { return c.masters }

// Agents returns the agent slots.
func (c *Cluster) Agents() []*Agent { return c.agents }

// StartMaster starts (or restarts) master i. It blocks until the node's etcd member serves, which
// with several masters needs a quorum.
func (c *Cluster) StartMaster(i int) error {
	m := c.masters[i]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.StartMaster(ctx, m.cfg)
	if err != nil {
		return fmt.Errorf("master %d: %w", i, err)
	}
	c.mu.Lock()
	m.Node = n
	c.mu.Unlock()
	return nil
}

// StopMaster stops master i (it resigns leadership if it leads).
func (c *Cluster) StopMaster(i int) {
	c.mu.Lock()
	n := c.masters[i].Node
	c.masters[i].Node = nil
	c.mu.Unlock()
	if n != nil {
		n.Close()
	}
}

// LeaderIndex returns the index of the leading master, or -1.
func (c *Cluster) LeaderIndex() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.masters {
		if m.Node != nil && m.Node.Master.IsLeader() {
			return i
		}
	}
	return -1
}

// WaitForLeader waits until exactly one running master leads and every running master knows it,
// and returns its index.
func (c *Cluster) WaitForLeader(timeout time.Duration) int {
	c.t.Helper()
	leader := -1
	testutil.WaitFor(c.t, timeout, func() error {
		leader = c.LeaderIndex()
		if leader < 0 {
			return errors.New("no master leads")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		want := c.masters[leader].Node.Master.URL()
		for i, m := range c.masters {
			if m.Node == nil {
				continue
			}
			if got := m.Node.Master.Leader(); got != want {
				return fmt.Errorf("master %d sees leader %q, want %q", i, got, want)
			}
		}
		return nil
	})
	return leader
}

// LeaderURL returns the leading master's URL, or "".
func (c *Cluster) LeaderURL() string {
	if i := c.LeaderIndex(); i >= 0 {
		return c.masters[i].URL
	}
	return ""
}

// ServicesURLs returns every master node's services URL (Options.Services).
func (c *Cluster) ServicesURLs() []string {
	urls := make([]string, len(c.masters))
	for i, m := range c.masters {
		urls[i] = m.ServicesURL
	}
	return urls
}

// ServicesLeaderIndex returns the index of the master node whose services role leads, or -1.
func (c *Cluster) ServicesLeaderIndex() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.masters {
		if m.Node != nil && m.Node.Services != nil && m.Node.Services.IsLeader() {
			return i
		}
	}
	return -1
}

// ServicesLeaderURL returns the URL of the leading services instance, or "".
func (c *Cluster) ServicesLeaderURL() string {
	if i := c.ServicesLeaderIndex(); i >= 0 {
		return c.masters[i].ServicesURL
	}
	return ""
}

// WaitForServicesLeader waits until a services instance leads and every running one knows it,
// and returns its index.
func (c *Cluster) WaitForServicesLeader(timeout time.Duration) int {
	c.t.Helper()
	leader := -1
	testutil.WaitFor(c.t, timeout, func() error {
		leader = c.ServicesLeaderIndex()
		if leader < 0 {
			return errors.New("no services instance leads")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		want := c.masters[leader].ServicesURL
		for i, m := range c.masters {
			if m.Node == nil || m.Node.Services == nil {
				continue
			}
			if got := m.Node.Services.Leader(); got != want {
				return fmt.Errorf("services instance %d sees leader %q, want %q", i, got, want)
			}
		}
		return nil
	})
	return leader
}

// StartAgent starts (or restarts, recovering its tasks) agent i.
func (c *Cluster) StartAgent(i int) error {
	a := c.agents[i]
	ag, err := node.StartAgent(context.Background(), a.cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	a.Agent = ag
	c.mu.Unlock()
	return nil
}

// StopAgent stops agent i. Its tasks keep running, as after a crash of the agent process.
func (c *Cluster) StopAgent(i int) {
	c.mu.Lock()
	ag := c.agents[i].Agent
	c.agents[i].Agent = nil
	c.mu.Unlock()
	if ag != nil {
		ag.Close()
	}
}

// CutAgent cuts agent i off from the masters, as a network partition would.
func (c *Cluster) CutAgent(i int) { c.agents[i].Agent.Disconnect() }

// HealAgent lets agent i reach the masters again.
func (c *Cluster) HealAgent(i int) { c.agents[i].Agent.Reconnect() }

// WaitForAgent waits until agent i is registered with the leading master.
func (c *Cluster) WaitForAgent(i int, timeout time.Duration) {
	c.t.Helper()
	testutil.WaitFor(c.t, timeout, func() error { return c.agentsActive(i) })
}

// AgentsActive reports whether every agent is registered and active on the leading master.
func (c *Cluster) AgentsActive() error {
	c.mu.Lock()
	idx := make([]int, len(c.agents))
	for i := range idx {
		idx[i] = i
	}
	c.mu.Unlock()
	return c.agentsActive(idx...)
}

// agentsActive reports whether agents idx are registered and active on the leading master.
func (c *Cluster) agentsActive(idx ...int) error {
	var state struct {
		Slaves []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"slaves"`
	}
	if err := c.GetJSON("/master/state", &state); err != nil {
		return err
	}
	active := map[string]bool{}
	for _, s := range state.Slaves {
		active[s.ID] = s.Active
	}
	for _, i := range idx {
		c.mu.Lock()
		ag := c.agents[i].Agent
		c.mu.Unlock()
		if ag == nil || ag.ID() == "" {
			return fmt.Errorf("agent %d has no id yet", i)
		}
		if !active[ag.ID()] {
			return fmt.Errorf("agent %d (%s) not active on the leader", i, ag.ID())
		}
	}
	return nil
}

// GetJSON GETs path from the leading master and decodes its JSON answer.
func (c *Cluster) GetJSON(path string, v any) error {
	leader := c.LeaderURL()
	if leader == "" {
		return errors.New("no leader")
	}
	req, err := http.NewRequest(http.MethodGet, leader+path, nil)
	if err != nil {
		return err
	}
	if c.opts.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.AuthToken)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Close stops every node, agents first, and kills the tasks the agents leave running.
func (c *Cluster) Close() {
	for i, a := range c.agents {
		c.StopAgent(i)
		if err := agent.KillTasks(context.Background(), a.cfg.WorkDir); err != nil {
			c.t.Logf("testcluster: kill tasks of agent %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	for i := range c.masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.StopMaster(i)
		}()
	}
	wg.Wait()
	for i, m := range c.masters {
		if m.hole != nil {
			if err := m.hole.close(); err != nil {
				c.t.Logf("testcluster: close the proxy of master %d: %v", i, err)
			}
		}
	}
	if c.pki != nil {
		c.pki.client.CloseIdleConnections()
	}
}
