package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

func newLeaderCmd() *cobra.Command {
	var o cli.Options
	var abdicate bool
	cmd := cli.Group(&cobra.Command{
		Use:   "leader",
		Short: "Show the leading services instance, or make it abdicate",
		RunE: cli.Run(&o, cobra.NoArgs, func(ctx context.Context, e *cli.Env, _ []string) error {
			return cli.Leader(ctx, e, abdicate)
		}),
	}, &o)
	cmd.Flags().BoolVar(&abdicate, "abdicate", false, "make the leader give up its leadership, which starts an election")
	return cmd
}
