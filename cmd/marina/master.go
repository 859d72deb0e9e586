package main

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/marina-dcos/marina/internal/node"
	"github.com/marina-dcos/marina/internal/pki"
)

func newMasterCmd(lf *logFlags) *cobra.Command {
	var (
		cfg       node.MasterConfig
		tokenFile string
	)
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a master node: an etcd member, the resource master and the services scheduler",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger()
			if err != nil {
				return err
			}
			if cfg.AuthToken, err = node.ReadToken(tokenFile); err != nil {
				return err
			}
			cfg.Logger = log
			n, err := node.StartMaster(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			log.Info("master node running", "url", n.Master.URL())
			if n.Services != nil {
				log.Info("services running", "url", n.Services.URL())
			}
			<-cmd.Context().Done()
			log.Info("shutting down")
			return n.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.IP, "ip", "127.0.0.1", "address to listen on and advertise")
	f.IntVar(&cfg.Port, "port", 5050, "master API port")
	f.IntVar(&cfg.ServicesPort, "services-port", 8080, "services (Marathon API) port")
	f.BoolVar(&cfg.DisableServices, "no-services", false, "run without the services role (the Marathon-compatible framework)")
	f.StringSliceVar(&cfg.Masters, "masters", nil, "addresses of all masters, this one included (1, 3 or 5)")
	f.StringVar(&cfg.WorkDir, "work-dir", "/var/lib/marina/master", "directory for the etcd member's data")
	f.IntVar(&cfg.EtcdClientPort, "etcd-client-port", 2379, "etcd client port (served on loopback only)")
	f.IntVar(&cfg.EtcdPeerPort, "etcd-peer-port", 2380, "etcd peer port")
	f.StringVar(&cfg.EtcdInitialCluster, "etcd-initial-cluster", "", "explicit etcd initial cluster (name=peerURL,...), overriding --masters")
	f.StringVar(&cfg.EtcdName, "etcd-name", "", "this member's name in --etcd-initial-cluster")
	f.StringVar(&cfg.EtcdLogLevel, "etcd-log-level", "error", "the embedded etcd member's log level: debug, info, warn or error (its logs join the node's, with component=etcd)")
	f.StringSliceVar(&cfg.EtcdEndpoints, "etcd-endpoints", nil, "use this external etcd cluster instead of an embedded member")
	f.UintVar(&cfg.TickMs, "etcd-heartbeat-ms", 100, "etcd raft heartbeat interval")
	f.UintVar(&cfg.ElectionMs, "etcd-election-ms", 1000, "etcd raft election timeout")
	f.DurationVar(&cfg.LeaderTTL, "leader-ttl", 0, "leader election session TTL (default 2s)")
	f.DurationVar(&cfg.AgentTimeout, "agent-timeout", 0, "an agent silent this long is unreachable (default 15s)")
	f.DurationVar(&cfg.RegistryMaxAgentAge, "registry-max-agent-age", 14*24*time.Hour, "an agent unreachable this long is removed from the registry")
	f.IntVar(&cfg.RegistryMaxAgentCount, "registry-max-agent-count", 102400, "beyond this many unreachable agents, the oldest are removed from the registry")
	f.StringVar(&tokenFile, "auth-token-file", "", "file holding the bearer token every API call must carry (required beyond loopback)")
	addTLSFlags(f, &cfg.TLS)
	return cmd
}

// addTLSFlags registers a node's TLS files: with them, every listener of the node serves
// https and nodes authenticate each other with certificates of the cluster CA.
func addTLSFlags(f *pflag.FlagSet, files *pki.Files) {
	f.StringVar(&files.Cert, "tls-cert", "", "the node's certificate (PEM), issued by the cluster CA for the node's addresses")
	f.StringVar(&files.Key, "tls-key", "", "the certificate's private key (PEM, mode 0600)")
	f.StringVar(&files.CA, "tls-ca", "", "the cluster CA's certificate (PEM): nodes trust only it")
}
