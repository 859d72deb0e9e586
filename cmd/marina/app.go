package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

func newAppCmd() *cobra.Command {
	var o cli.Options
	cmd := cli.Group(&cobra.Command{
		Use:   "app",
		Short: "List, show, create, update, scale, restart and delete apps, and see the launch queue (Marathon API)",
	}, &o)

	var list cli.AppListOptions
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List apps with their instances, task counts and resources",
		RunE: cli.Run(&o, cobra.NoArgs, func(ctx context.Context, e *cli.Env, _ []string) error {
			return cli.AppList(ctx, e, list)
		}),
	}
	listCmd.Flags().StringVar(&list.ID, "id", "", "only apps whose id contains this")
	listCmd.Flags().StringVar(&list.Cmd, "cmd", "", "only apps whose cmd contains this")
	listCmd.Flags().StringVar(&list.Label, "label", "", "only apps that match this label selector, e.g. env==prod")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an app's definition, state and tasks",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppShow(ctx, e, args[0])
		}),
	}

	var file string
	var co cli.ChangeOptions
	create := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create an app from a Marathon app definition (JSON)",
		RunE: cli.Run(&o, cobra.NoArgs, func(ctx context.Context, e *cli.Env, _ []string) error {
			return cli.AppCreate(ctx, e, file, co)
		}),
	}
	update := &cobra.Command{
		Use:   "update ID -f FILE",
		Short: "Change an app: the fields the file gives replace the app's, the others stay",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppUpdate(ctx, e, args[0], file, co)
		}),
	}
	scale := &cobra.Command{
		Use:   "scale ID N",
		Short: "Set an app's number of instances",
		RunE: cli.Run(&o, cobra.ExactArgs(2), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppScale(ctx, e, args[0], args[1], co)
		}),
	}
	rollback := &cobra.Command{
		Use:   "rollback ID VERSION",
		Short: "Deploy the definition an app had in an earlier version again (see app show ID --json for versions)",
		RunE: cli.Run(&o, cobra.ExactArgs(2), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppRollback(ctx, e, args[0], args[1], co)
		}),
	}
	restart := &cobra.Command{
		Use:   "restart ID",
		Short: "Replace every task of an app",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppRestart(ctx, e, args[0], co)
		}),
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Stop an app's tasks and remove it",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppDelete(ctx, e, args[0], co)
		}),
	}
	queue := &cobra.Command{
		Use:   "queue",
		Short: "List the apps with instances waiting to be launched, and why offers are declined for them",
		RunE: cli.Run(&o, cobra.NoArgs, func(ctx context.Context, e *cli.Env, _ []string) error {
			return cli.AppQueue(ctx, e)
		}),
	}
	resetDelay := &cobra.Command{
		Use:   "reset-delay ID",
		Short: "End an app's launch backoff: its waiting instances are launched at once",
		RunE: cli.Run(&o, cobra.ExactArgs(1), func(ctx context.Context, e *cli.Env, args []string) error {
			return cli.AppResetDelay(ctx, e, args[0])
		}),
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVarP(&file, "file", "f", "", "app definition (JSON); - for standard input")
	}
	for _, c := range []*cobra.Command{create, update, rollback, scale, restart, del} {
		c.Flags().BoolVar(&co.Wait, "wait", false, "follow the deployment until it ends; exit 1 if it fails")
		if c != create {
			c.Flags().BoolVar(&co.Force, "force", false, "cancel a deployment that locks the app")
		}
	}
	cmd.AddCommand(listCmd, show, create, update, rollback, scale, restart, del, queue, resetDelay)
	return cmd
}
