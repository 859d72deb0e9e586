package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/master"
	"github.com/marina-dcos/marina/internal/pki"
	"github.com/marina-dcos/marina/internal/services"
)

// MasterConfig configures a master node.
type MasterConfig struct {
	IP   string // address to bind and advertise; default 127.0.0.1
	Port int    // master API port; default 5050
	// Advertise is the host:port clients reach the master at when not IP:Port (a proxy).
	Advertise string
	Masters   []string // every master's IP (this one included); empty for a single master
	WorkDir   string   // etcd data lives under it

	EtcdClientPort     int      // default 2379; served on loopback only
	EtcdPeerPort       int      // default 2380
	EtcdInitialCluster string   // "name=peerURL,..." overriding the one derived from Masters
	EtcdName           string   // this member's name when EtcdInitialCluster is given
	EtcdEndpoints      []string // use an external etcd instead of an embedded member
	EtcdLogLevel       string   // the embedded member's log level (debug, info, warn, error); default error
	TickMs, ElectionMs uint     // etcd raft timing; 0 = etcd defaults

	// ServicesPort is where the services role (the Marathon-compatible framework) serves;
	// default 8080. DisableServices runs the node without it.
	ServicesPort    int
	DisableServices bool

	AuthToken string
	// TLS names the node's certificate, key and cluster CA. When set, the master and services
	// listeners serve https, verify the certificates other nodes present, and present the
	// node's own when calling other nodes; the embedded etcd member's client and peer traffic
	// use them too.
	TLS          pki.Files
	LeaderTTL    time.Duration
	AgentTimeout time.Duration
	Logger       *slog.Logger

	// RegistryMaxAgentAge and RegistryMaxAgentCount bound the unreachable agents the registry
	// keeps (master.Config); 0 gives the master's defaults.
	RegistryMaxAgentAge   time.Duration
	RegistryMaxAgentCount int
}

func (c *MasterConfig) defaults() {
	if c.IP == "" {
		c.IP = "127.0.0.1"
	}
	if c.Port == 0 {
		c.Port = 5050
	}
	if c.ServicesPort == 0 {
		c.ServicesPort = 8080
	}
	if c.EtcdClientPort == 0 {
		c.EtcdClientPort = 2379
	}
	if c.EtcdPeerPort == 0 {
		c.EtcdPeerPort = 2380
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// memberName names the etcd member of the master at ip.
func memberName(ip string) string {
	return "master-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// scheme is the scheme of the node's URLs and of its etcd member's.
func (c *MasterConfig) scheme() string {
	if c.TLS.Enabled() {
		return "https"
	}
	return "http"
}

func (c *MasterConfig) coordConfig() (coord.Config, error) {
	cc := coord.Config{
		Name:              memberName(c.IP),
		DataDir:           filepath.Join(c.WorkDir, "etcd"),
		ClientURL:         c.scheme() + "://" + net.JoinHostPort(loopbackFor(c.IP), strconv.Itoa(c.EtcdClientPort)),
		PeerURL:           c.scheme() + "://" + net.JoinHostPort(c.IP, strconv.Itoa(c.EtcdPeerPort)),
		InitialCluster:    c.EtcdInitialCluster,
		ClusterToken:      "marina",
		TickMs:            c.TickMs,
		ElectionMs:        c.ElectionMs,
		ExternalEndpoints: c.EtcdEndpoints,
		EtcdLogLevel:      c.EtcdLogLevel,
		Logger:            c.Logger.With("component", "coord"),
	}
	if c.EtcdName != "" {
		cc.Name = c.EtcdName
	}
	if c.TLS.Enabled() && len(c.EtcdEndpoints) == 0 {
		files := c.TLS
		cc.TLS = &files
	}
	if cc.InitialCluster == "" && len(c.Masters) > 0 {
		if !slices.Contains(c.Masters, c.IP) {
			return cc, fmt.Errorf("this master's address %s is not in --masters %v", c.IP, c.Masters)
		}
		parts := make([]string, len(c.Masters))
		for i, ip := range c.Masters {
			parts[i] = memberName(ip) + "=" + c.scheme() + "://" + net.JoinHostPort(ip, strconv.Itoa(c.EtcdPeerPort))
		}
		cc.InitialCluster = strings.Join(parts, ",")
	}
	return cc, nil
}

// loopbackFor returns the loopback address etcd's client port binds to: the node's own address
// when that is a loopback address (several local nodes share a machine), else 127.0.0.1.
func loopbackFor(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsLoopback() {
		return ip
	}
	return "127.0.0.1"
}

// masterURLs returns the masters the services role subscribes through: this node's first.
func (c *MasterConfig) masterURLs(own string) []string {
	urls := []string{own}
	for _, ip := range c.Masters {
		if u := c.scheme() + "://" + net.JoinHostPort(ip, strconv.Itoa(c.Port)); u != own {
			urls = append(urls, u)
		}
	}
	return urls
}

// MasterNode is a running master node.
type MasterNode struct {
	Coord    *coord.Coord
	Master   *master.Master
	Services *services.Server // nil when disabled

	closeOnce sync.Once
}

// StartMaster starts the node's etcd member, waits for a quorum, then starts the master. With
// several masters it returns only once enough of them run to form a quorum, or ctx ends.
func StartMaster(ctx context.Context, cfg MasterConfig) (*MasterNode, error) {
	cfg.defaults()
	addr := net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port))
	if err := CheckBind(addr, cfg.AuthToken); err != nil {
		return nil, err
	}
	var id *pki.Node
	if cfg.TLS.Enabled() {
		var err error
		if id, err = cfg.TLS.Load(); err != nil {
			return nil, err
		}
	}
	cc, err := cfg.coordConfig()
	if err != nil {
		return nil, err
	}
	co, err := coord.Start(ctx, cc)
	if err != nil {
		return nil, err
	}
	m, err := master.New(master.Config{
		Listen:       addr,
		Advertise:    cfg.Advertise,
		Etcd:         co.Client,
		LeaderTTL:    cfg.LeaderTTL,
		AuthToken:    cfg.AuthToken,
		AgentTimeout: cfg.AgentTimeout,
		Logger:       cfg.Logger.With("component", "master"),
		TLSConfig:    serverTLS(id),

		RegistryMaxAgentAge:   cfg.RegistryMaxAgentAge,
		RegistryMaxAgentCount: cfg.RegistryMaxAgentCount,
	})
	if err != nil {
		co.Close()
		return nil, err
	}
	if err := m.Start(ctx); err != nil {
		co.Close()
		return nil, err
	}
	n := &MasterNode{Coord: co, Master: m}
	if !cfg.DisableServices {
		if n.Services, err = startServices(ctx, cfg, co, m, id); err != nil {
			m.Close()
			co.Close()
			return nil, err
		}
	}
	return n, nil
}

// startServices starts the services role on its own listener, after the master.
func startServices(ctx context.Context, cfg MasterConfig, co *coord.Coord, m *master.Master, id *pki.Node) (*services.Server, error) {
	addr := net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.ServicesPort))
	if err := CheckBind(addr, cfg.AuthToken); err != nil {
		return nil, err
	}
	s, err := services.New(services.Config{
		Listen:    addr,
		Masters:   cfg.masterURLs(m.URL()),
		Etcd:      co.Client,
		AuthToken: cfg.AuthToken,
		LeaderTTL: cfg.LeaderTTL,
		Hostname:  cfg.IP,
		Logger:    cfg.Logger.With("component", "services"),
		TLSConfig: serverTLS(id),
		ClientTLS: clientTLS(id),
	})
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// closeGrace bounds how long the roles may take to hand over through etcd before the etcd member
// and client are closed under them. Without a quorum, etcd calls (a standby's withdrawal from an
// election among them) would otherwise wait on the client's own, unbounded context.
const closeGrace = time.Second

// Close stops the services role and the master (each resigning its leadership), then the etcd
// member. It is idempotent.
func (n *MasterNode) Close() error {
	n.closeOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if n.Services != nil {
				n.Services.Close()
			}
			n.Master.Close()
		}()
		select {
		case <-done:
		case <-time.After(closeGrace):
		}
		n.Coord.Close()
		<-done
	})
	return nil
}
