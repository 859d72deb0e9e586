package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

func newTaskCmd() *cobra.Command {
	var o cli.Options
	cmd := cli.Group(&cobra.Command{
		Use:   "task",
		Short: "List and kill tasks, and read their output",
	}, &o)

	list := cli.Command(&o, "list [APP]", "List the tasks of every app, or of one", cobra.MaximumNArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error {
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			return cli.TaskList(ctx, e, app)
		})

	var ko cli.TaskKillOptions
	kill := cli.Command(&o, "kill TASK", "Kill a task; its app replaces it unless --scale", cobra.ExactArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error { return cli.TaskKill(ctx, e, args[0], ko) })
	kill.Flags().BoolVar(&ko.Scale, "scale", false, "scale the app down by one instead of replacing the task")
	kill.Flags().BoolVar(&ko.Wipe, "wipe", false, "also destroy the task's persistent volumes (resident apps)")
	kill.Flags().BoolVar(&ko.Wait, "wait", false, "with --scale, follow the deployment until it ends")

	var lo cli.TaskLogsOptions
	logs := cli.Command(&o, "logs TASK", "Print a task's stdout (or stderr) from its sandbox", cobra.ExactArgs(1),
		func(ctx context.Context, e *cli.Env, args []string) error { return cli.TaskLogs(ctx, e, args[0], lo) })
	logs.Flags().BoolVarP(&lo.Follow, "follow", "f", false, "keep printing new output until Ctrl-C")
	logs.Flags().BoolVar(&lo.Stderr, "stderr", false, "print stderr instead of stdout")

	cmd.AddCommand(list, kill, logs)
	return cmd
}
