package main

import (
	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cluster"
)

func newDownCmd(lf *logFlags) *cobra.Command {
	var opts cluster.DownOptions
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop a cluster's nodes and tasks and remove its state",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger()
			if err != nil {
				return err
			}
			opts.Logger, opts.Out, opts.In = log, cmd.OutOrStdout(), cmd.InOrStdin()
			return cluster.Down(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", cluster.DefaultName, "cluster name")
	f.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask before deleting cloud resources (azure: the cluster's resource group)")
	f.StringVar(&opts.StateDir, "state-dir", cluster.DefaultStateDir(), "directory for cluster state and the client config (env "+cluster.EnvStateDir+")")
	return cmd
}
