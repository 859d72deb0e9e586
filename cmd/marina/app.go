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
	listCmd := cli.Command(&o, "list", "List apps with their instances, task counts and resources", cobra.NoArgs,
		func(ctx context.Context, e *cli.Env, _ []string) error { return cli.AppList(ctx, e, list) })
	listCmd.Flags().StringVar(&list.ID, "id", "", "only apps whose id contains this")
	listCmd.Flags().StringVar(&list.Cmd, "cmd", "", "only apps whose cmd contains this")
	listCmd.Flags().StringVar(&list.Label, "label", "", "only apps that match this label selector, e.g. env==prod")

	show := cli.Command(&o, "show ID", "Show an app's definition, state and tasks", cobra.ExactArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error { return cli.AppShow(ctx, e, args[0]) })

	const force = "cancel a deployment that locks the app"
	var createFile, updateFile string
	create := cli.ChangeCommand(&o, "create -f FILE", "Create an app from a Marathon app definition (JSON)", cobra.NoArgs, "",
		func(ctx context.Context, e *cli.Env, _ []string, co cli.ChangeOptions) error {
			return cli.AppCreate(ctx, e, createFile, co)
		})
	cli.FileFlag(create, &createFile, "app")
	update := cli.ChangeCommand(&o, "update ID -f FILE", "Change an app: the fields the file gives replace the app's, the others stay", cobra.ExactArgs(1), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.AppUpdate(ctx, e, args[0], updateFile, co)
		})
	cli.FileFlag(update, &updateFile, "app")
	scale := cli.ChangeCommand(&o, "scale ID N", "Set an app's number of instances", cobra.ExactArgs(2), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.AppScale(ctx, e, args[0], args[1], co)
		})
	rollback := cli.ChangeCommand(&o, "rollback ID VERSION", "Deploy the definition an app had in an earlier version again (see app show ID --json for versions)", cobra.ExactArgs(2), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.AppRollback(ctx, e, args[0], args[1], co)
		})
	restart := cli.ChangeCommand(&o, "restart ID", "Replace every task of an app", cobra.ExactArgs(1), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.AppRestart(ctx, e, args[0], co)
		})
	del := cli.ChangeCommand(&o, "delete ID", "Stop an app's tasks and remove it", cobra.ExactArgs(1), force,
		func(ctx context.Context, e *cli.Env, args []string, co cli.ChangeOptions) error {
			return cli.AppDelete(ctx, e, args[0], co)
		})

	queue := cli.Command(&o, "queue", "List the apps with instances waiting to be launched, and why offers are declined for them", cobra.NoArgs,
		func(ctx context.Context, e *cli.Env, _ []string) error { return cli.AppQueue(ctx, e) })
	resetDelay := cli.Command(&o, "reset-delay ID", "End an app's launch backoff: its waiting instances are launched at once", cobra.ExactArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error { return cli.AppResetDelay(ctx, e, args[0]) })

	cmd.AddCommand(listCmd, show, create, update, rollback, scale, restart, del, queue, resetDelay)
	return cmd
}
