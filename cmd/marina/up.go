package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cluster"
)

func newUpCmd(lf *logFlags) *cobra.Command {
	var (
		opts     cluster.UpOptions
		file     string
		name     string
		masters  int
		agents   int
		provider string
		settings []string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring a cluster up (3 masters and 3 agents on this machine by default)",
		Long: `Bring a cluster up from flags or a spec file (-f cluster.yaml), through a provider, as a
list of steps with progress shown. A failed or interrupted up rolls back unless --retain.
See docs/cluster.md.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger()
			if err != nil {
				return err
			}
			spec := &cluster.Spec{}
			if file != "" {
				if spec, err = cluster.LoadSpec(file); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if file == "" || f.Changed("name") {
				spec.Name = name
			}
			if file == "" || f.Changed("masters") {
				spec.Masters = masters
			}
			if file == "" || f.Changed("agents") {
				spec.Agents = cluster.UniformAgents(agents)
			}
			// --provider naming the spec file's provider keeps the file's settings.
			if (file == "" || f.Changed("provider")) && spec.Provider.Name != provider {
				spec.Provider = cluster.ProviderSpec{Name: provider}
			}
			for _, kv := range settings {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--setting %q: want name=value", kv)
				}
				if spec.Provider.Settings == nil {
					spec.Provider.Settings = map[string]string{}
				}
				spec.Provider.Settings[k] = v
			}
			opts.Spec, opts.Logger, opts.Out = spec, log, cmd.OutOrStdout()
			_, err = cluster.Up(cmd.Context(), opts)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "cluster spec (YAML); flags given as well override it")
	f.StringVar(&name, "name", cluster.DefaultName, "cluster name")
	f.IntVar(&masters, "masters", cluster.DefaultMasters, "number of masters: 1, 3 or 5")
	f.IntVar(&agents, "agents", cluster.DefaultAgents, "number of agents")
	f.StringVar(&provider, "provider", cluster.DefaultProvider, "where nodes run: local, docker, ssh or azure (see docs/cluster.md, docs/azure.md)")
	f.StringArrayVar(&settings, "setting", nil, "a provider setting, name=value (repeatable; added to the spec file's), e.g. --setting location=westeurope")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the provider's full plan (resources, addresses, sizes) and make nothing")
	f.StringVar(&opts.StateDir, "state-dir", cluster.DefaultStateDir(), "directory for cluster state and the client config (env "+cluster.EnvStateDir+")")
	f.BoolVar(&opts.Retain, "retain", false, "keep what was made when a step fails, for a post mortem")
	f.BoolVar(&opts.Wait, "wait", true, "wait for a leader and for every agent to register; false returns once the processes run")
	f.DurationVar(&opts.Timeout, "timeout", 0, "give up (and roll back) after this long (default 60s; azure: 30m)")
	return cmd
}
