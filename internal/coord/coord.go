package coord

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/marina-dcos/marina/internal/pki"
)

// Config says how to reach etcd: run an embedded member, or use ExternalEndpoints.
type Config struct {
	Name              string   // member name, unique in the cluster
	DataDir           string   // the member's data directory
	ClientURL         string   // where the member serves clients, e.g. http://127.0.0.1:2379
	PeerURL           string   // where the member talks to peers, e.g. http://127.0.0.1:2380
	InitialCluster    string   // "m1=http://10.0.0.1:2380,m2=..."; empty means a single member
	ClusterToken      string   // distinguishes clusters that share addresses
	TickMs            uint     // raft heartbeat; default 100
	ElectionMs        uint     // raft election timeout; default 1000
	EtcdLogLevel      string   // etcd's own log level; default "error"
	ExternalEndpoints []string // use these etcd endpoints instead of an embedded member
	// TLS, when set, secures etcd with the cluster CA: the embedded member serves clients and
	// peers over TLS and requires their certificates, and the client presents the node's
	// certificate and verifies the member's (or the external endpoints'). ClientURL, PeerURL
	// and InitialCluster must then be https.
	TLS    *pki.Files
	Logger *slog.Logger
}

// Coord is a running etcd member (or a connection to an external etcd) and its client.
type Coord struct {
	Client *clientv3.Client

	etcd      *embed.Etcd
	log       *slog.Logger
	stopping  atomic.Bool // the member is stopping: its errors are echoes of that
	closeOnce sync.Once
}

// Start starts the embedded member (unless external endpoints are configured) and returns once it
// serves: with several members, that is once a quorum has formed. It gives up when ctx ends.
func Start(ctx context.Context, cfg Config) (*Coord, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Coord{log: log}
	endpoints := cfg.ExternalEndpoints
	if len(endpoints) == 0 {
		e, err := startEmbedded(ctx, cfg, log, &c.stopping)
		if err != nil {
			return nil, err
		}
		c.etcd = e
		endpoints = []string{cfg.ClientURL}
	}
	var tlsConfig *tls.Config
	if cfg.TLS != nil {
		n, err := cfg.TLS.Load()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("coord: %w", err)
		}
		tlsConfig = n.ClientConfig()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 3 * time.Second,
		TLS:         tlsConfig,
		Logger:      zap.NewNop(),
		Context:     context.Background(),
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("coord: etcd client: %w", err)
	}
	c.Client = cli
	if len(cfg.ExternalEndpoints) > 0 {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := cli.Status(sctx, endpoints[0]); err != nil {
			c.Close()
			return nil, fmt.Errorf("coord: external etcd %v: %w", endpoints, err)
		}
	}
	return c, nil
}

func startEmbedded(ctx context.Context, cfg Config, log *slog.Logger, stopping *atomic.Bool) (*embed.Etcd, error) {
	if cfg.DataDir == "" || cfg.ClientURL == "" || cfg.PeerURL == "" {
		return nil, errors.New("coord: DataDir, ClientURL and PeerURL are required for an embedded member")
	}
	curl, err := url.Parse(cfg.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("coord: client URL: %w", err)
	}
	purl, err := url.Parse(cfg.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("coord: peer URL: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	if ec.Name == "" {
		ec.Name = "default"
	}
	ec.Dir = cfg.DataDir
	ec.ListenClientUrls = []url.URL{*curl}
	ec.AdvertiseClientUrls = []url.URL{*curl}
	ec.ListenPeerUrls = []url.URL{*purl}
	ec.AdvertisePeerUrls = []url.URL{*purl}
	ec.InitialCluster = cfg.InitialCluster
	if ec.InitialCluster == "" {
		ec.InitialCluster = ec.Name + "=" + cfg.PeerURL
	}
	if cfg.ClusterToken != "" {
		ec.InitialClusterToken = cfg.ClusterToken
	}
	ec.TickMs = 100
	if cfg.TickMs > 0 {
		ec.TickMs = cfg.TickMs
	}
	ec.ElectionMs = 1000
	if cfg.ElectionMs > 0 {
		ec.ElectionMs = cfg.ElectionMs
	}
	level := zapcore.ErrorLevel
	if cfg.EtcdLogLevel != "" {
		if level, err = zapcore.ParseLevel(cfg.EtcdLogLevel); err != nil {
			return nil, fmt.Errorf("coord: etcd log level: %w", err)
		}
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(etcdLogger(log.With("component", "etcd"), level, stopping))
	if cfg.TLS != nil {
		info := transport.TLSInfo{
			CertFile:       cfg.TLS.Cert,
			KeyFile:        cfg.TLS.Key,
			TrustedCAFile:  cfg.TLS.CA,
			ClientCertAuth: true,
		}
		ec.ClientTLSInfo, ec.PeerTLSInfo = info, info
	}
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = "1h"
	if err := os.MkdirAll(filepath.Dir(cfg.DataDir), 0o700); err != nil {
		return nil, fmt.Errorf("coord: %w", err)
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("coord: start etcd member %s: %w", ec.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		stopping.Store(true)
		abort(e)
		return nil, fmt.Errorf("coord: etcd member %s: %w", ec.Name, err)
	case <-ctx.Done():
		stopping.Store(true)
		abort(e)
		return nil, fmt.Errorf("coord: etcd member %s not ready: %w", ec.Name, ctx.Err())
	}
}

// abort stops a member that never became ready. embed's Close alone would wait forever for the
// client servers, which start only once the member is ready or its server stops: so the server
// is stopped first.
func abort(e *embed.Etcd) {
	e.Server.HardStop()
	e.Close()
}

// Close closes the client and stops the embedded member. It is idempotent.
func (c *Coord) Close() error {
	c.closeOnce.Do(func() {
		if c.Client != nil {
			c.Client.Close()
		}
		if c.etcd != nil {
			c.stopping.Store(true)
			c.etcd.Close()
		}
	})
	return nil
}

// Embedded reports whether this Coord runs an etcd member.
func (c *Coord) Embedded() bool { return c.etcd != nil }
