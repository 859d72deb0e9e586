package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

func newDeploymentCmd() *cobra.Command {
	var o cli.Options
	cmd := cli.Group(&cobra.Command{
		Use:   "deployment",
		Short: "List running deployments and roll them back",
	}, &o)

	list := cli.Command(&o, "list", "List the running deployments and their current steps", cobra.NoArgs,
		func(ctx context.Context, e *cli.Env, _ []string) error { return cli.DeploymentList(ctx, e) })

	var co cli.ChangeOptions
	rollback := cli.Command(&o, "rollback ID", "Cancel a deployment and revert its changes (--force: only cancel it)", cobra.ExactArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.DeploymentRollback(ctx, e, args[0], co)
		})
	rollback.Flags().BoolVar(&co.Force, "force", false, "cancel the deployment without reverting it (may leave apps between versions)")
	rollback.Flags().BoolVar(&co.Wait, "wait", false, "follow the reverting deployment until it ends")

	cmd.AddCommand(list, rollback)
	return cmd
}
