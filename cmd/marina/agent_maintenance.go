package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

// agentMaintenanceCmds returns agent drain, deactivate and reactivate: operator calls to the
// masters about a running agent. Each takes the API flags itself, since the agent command's own
// --master means something else there.
func agentMaintenanceCmds() []*cobra.Command {
	var o cli.Options
	withFlags := func(cmd *cobra.Command) *cobra.Command {
		return cli.Group(cmd, &o)
	}
	deactivate := withFlags(cli.Command(&o, "deactivate AGENT", "Stop offering an agent's resources (by ID or hostname); its tasks keep running",
		cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AgentDeactivate(ctx, e, args[0])
		}))
	reactivate := withFlags(cli.Command(&o, "reactivate AGENT", "Offer a deactivated or drained agent's resources again",
		cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AgentReactivate(ctx, e, args[0])
		}))

	var (
		do    cli.AgentDrainOptions
		drain *cobra.Command
	)
	drain = withFlags(cli.Command(&o, "drain AGENT", "Deactivate an agent and kill its tasks, which their frameworks replace elsewhere",
		cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			do.GraceSet = drain.Flags().Changed("grace")
			return cli.AgentDrain(ctx, e, args[0], do)
		}))
	drain.Flags().DurationVar(&do.Grace, "grace", 0, "longest kill grace period a task gets, e.g. 30s (default: each task's own)")
	drain.Flags().BoolVar(&do.Wait, "wait", false, "wait until every task is gone (DRAINED)")
	return []*cobra.Command{drain, deactivate, reactivate}
}
