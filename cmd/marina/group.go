package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

func newGroupCmd() *cobra.Command {
	var o cli.Options
	cmd := cli.Group(&cobra.Command{
		Use:   "group",
		Short: "List, show, create, update, scale, roll back and delete groups of apps (Marathon API)",
	}, &o)

	list := cli.Command(&o, "list [ID]", "List the groups under ID (default: all) with their apps, instances and dependencies", cobra.MaximumNArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error {
			id := "/"
			if len(args) == 1 {
				id = args[0]
			}
			return cli.GroupList(ctx, e, id)
		})
	show := cli.Command(&o, "show ID", "Show a group's version, dependencies, stored versions and apps", cobra.ExactArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error { return cli.GroupShow(ctx, e, args[0]) })

	const force = "cancel the deployments that lock the group's apps"
	var createFile, updateFile string
	var dryRun bool
	create := cli.ChangeCommand(&o, "create -f FILE", "Create a group from a Marathon group definition (JSON) and start its apps", cobra.NoArgs, force,
		func(ctx context.Context, e *cli.Env, _ []string, co cli.ChangeOptions) error {
			return cli.GroupCreate(ctx, e, createFile, co)
		})
	cli.FileFlag(create, &createFile, "group")
	update := cli.ChangeCommand(&o, "update ID -f FILE", "Change a group: the apps and groups the file lists replace the group's; the others stop", cobra.ExactArgs(1), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.GroupUpdate(ctx, e, args[0], updateFile, cli.GroupUpdateOptions{ChangeOptions: co, DryRun: dryRun})
		})
	cli.FileFlag(update, &updateFile, "group")
	update.Flags().BoolVar(&dryRun, "dry-run", false, "print the deployment's steps, deploy nothing")
	scale := cli.ChangeCommand(&o, "scale ID FACTOR", "Multiply the instances of every app in a group by FACTOR (rounded up)", cobra.ExactArgs(2), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.GroupScale(ctx, e, args[0], args[1], co)
		})
	rollback := cli.ChangeCommand(&o, "rollback ID VERSION", "Deploy a group as it was at an earlier version (group show lists them)", cobra.ExactArgs(2), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.GroupRollback(ctx, e, args[0], args[1], co)
		})
	del := cli.ChangeCommand(&o, "delete ID", "Stop every app of a group and remove it with its groups", cobra.ExactArgs(1), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.GroupDelete(ctx, e, args[0], co)
		})

	cmd.AddCommand(list, show, create, update, scale, rollback, del)
	return cmd
}
