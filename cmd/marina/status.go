package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cluster"
)

// exitUnhealthy is status's exit code for a cluster that exists but is not healthy.
const exitUnhealthy = 2

func newStatusCmd() *cobra.Command {
	var opts cluster.StatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a cluster's nodes, leader, health and agents' resources (exit 2 when unhealthy)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			_, err := cluster.Status(cmd.Context(), opts)
			if errors.Is(err, cluster.ErrUnhealthy) {
				fmt.Fprintln(cmd.ErrOrStderr(), "marina:", err)
				os.Exit(exitUnhealthy)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", cluster.DefaultName, "cluster name")
	f.StringVar(&opts.StateDir, "state-dir", cluster.DefaultStateDir(), "directory for cluster state and the client config (env "+cluster.EnvStateDir+")")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}
