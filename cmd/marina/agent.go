package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/agent"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/node"
	"github.com/marina-dcos/marina/internal/pki"
)

func newAgentCmd(lf *logFlags) *cobra.Command {
	var (
		cfg        agent.Config
		tlsFiles   pki.Files
		tokenFile  string
		resources  string
		attributes string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent node: registers with the leading master and runs tasks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger()
			if err != nil {
				return err
			}
			if len(cfg.Masters) == 0 {
				return fmt.Errorf("--master is required")
			}
			if cfg.AuthToken, err = node.ReadToken(tokenFile); err != nil {
				return err
			}
			if err := node.AgentTLS(&cfg, tlsFiles); err != nil {
				return err
			}
			if resources != "" {
				if cfg.Resources, err = mesos.ParseResources(resources); err != nil {
					return fmt.Errorf("--resources: %w", err)
				}
			}
			if attributes != "" {
				if cfg.Attributes, err = mesos.ParseAttributes(attributes); err != nil {
					return fmt.Errorf("--attributes: %w", err)
				}
			}
			cfg.Logger = log
			a, err := node.StartAgent(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			log.Info("agent running", "addr", a.Addr())
			<-cmd.Context().Done()
			log.Info("shutting down; tasks keep running")
			return a.Close()
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Masters, "master", nil, "URLs of the masters (any of them; the leader is found), e.g. http://127.0.0.1:5050 (https:// under TLS)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:5051", "agent API listen address")
	f.StringVar(&cfg.Advertise, "advertise", "", "host:port masters and tools reach this agent at (default: the listen address)")
	f.StringVar(&cfg.Hostname, "hostname", "", "hostname reported to the master (default: the machine's)")
	f.StringVar(&cfg.WorkDir, "work-dir", "/var/lib/marina/agent", "directory for checkpoints and task sandboxes")
	f.StringVar(&resources, "resources", "", `resources to offer, e.g. "cpus:4;mem:8192;disk:10240;ports:[31000-32000]" (default: detected)`)
	f.StringVar(&attributes, "attributes", "", `attributes, e.g. "rack:r1;zone:a"`)
	f.StringVar(&tokenFile, "auth-token-file", "", "file holding the bearer token (required beyond loopback)")
	addTLSFlags(f, &tlsFiles)
	f.StringSliceVar(&cfg.Containerizers, "containerizers", nil, "executors to run: process, docker (default: process, and docker when a Docker Engine answers)")
	f.BoolVar(&cfg.DockerAllowPrivileged, "docker-allow-privileged", false, "let docker tasks run privileged")
	f.StringVar(&cfg.DockerPublishedAt, "docker-published-at", "", "address where the engine publishes docker tasks' host ports when not this agent's (an agent in a container: its network's gateway); the agent relays them from its own address")
	cmd.AddCommand(agentMaintenanceCmds()...)
	return cmd
}
