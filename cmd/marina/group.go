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

	list := &cobra.Command{
		Use:   "list [ID]",
		Short: "List the groups under ID (default: all) with their apps, instances and dependencies",
		RunE: cli.Run(&o, cobra.MaximumNArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			id := "/"
			if len(args) == 1 {
				id = args[0]
			}
			return cli.GroupList(ctx, e, id)
		}),
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a group's version, dependencies, stored versions and apps",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.GroupShow(ctx, e, args[0])
		}),
	}

	var file string
	var uo cli.GroupUpdateOptions
	create := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a group from a Marathon group definition (JSON) and start its apps",
		RunE: cli.Run(&o, cobra.NoArgs, func(ctx context.Context, e *cli.Env, _ []string) error {
			return cli.GroupCreate(ctx, e, file, uo.ChangeOptions)
		}),
	}
	update := &cobra.Command{
		Use:   "update ID -f FILE",
		Short: "Change a group: the apps and groups the file lists replace the group's; the others stop",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.GroupUpdate(ctx, e, args[0], file, uo)
		}),
	}
	update.Flags().BoolVar(&uo.DryRun, "dry-run", false, "print the deployment's steps, deploy nothing")
	scale := &cobra.Command{
		Use:   "scale ID FACTOR",
		Short: "Multiply the instances of every app in a group by FACTOR (rounded up)",
		RunE: cli.Run(&o, cobra.ExactArgs(2), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.GroupScale(ctx, e, args[0], args[1], uo.ChangeOptions)
		}),
	}
	rollback := &cobra.Command{
		Use:   "rollback ID VERSION",
		Short: "Deploy a group as it was at an earlier version (group show lists them)",
		RunE: cli.Run(&o, cobra.ExactArgs(2), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.GroupRollback(ctx, e, args[0], args[1], uo.ChangeOptions)
		}),
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Stop every app of a group and remove it with its groups",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.GroupDelete(ctx, e, args[0], uo.ChangeOptions)
		}),
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVarP(&file, "file", "f", "", "group definition (JSON); - for standard input")
	}
	for _, c := range []*cobra.Command{create, update, scale, rollback, del} {
		c.Flags().BoolVar(&uo.Wait, "wait", false, "follow the deployment until it ends; exit 1 if it fails")
		c.Flags().BoolVar(&uo.Force, "force", false, "cancel the deployments that lock the group's apps")
	}
	cmd.AddCommand(list, show, create, update, scale, rollback, del)
	return cmd
}
