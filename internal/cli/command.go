package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// Command makes an API command: use and short as cobra takes them, args and op as Run does.
func Command(o *Options, use, short string, args cobra.PositionalArgs, op Op) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, RunE: Run(o, args, op)}
}

// ChangeOp is the work of a command that starts a deployment, given its --force and --wait.
type ChangeOp func(ctx context.Context, e *Env, args []string, co ChangeOptions) error

// ChangeCommand makes a command that starts a deployment, as Command does, with a --wait flag
// and, when force names what it cancels, a --force flag.
func ChangeCommand(o *Options, use, short string, args cobra.PositionalArgs, force string, op ChangeOp) *cobra.Command {
	var co ChangeOptions
	cmd := Command(o, use, short, args, func(ctx context.Context, e *Env, argv []string) error {
		return op(ctx, e, argv, co)
	})
	cmd.Flags().BoolVar(&co.Wait, "wait", false, "follow the deployment until it ends; exit 1 if it fails")
	if force != "" {
		cmd.Flags().BoolVar(&co.Force, "force", false, force)
	}
	return cmd
}

// FileFlag adds -f/--file to cmd: the file holding a JSON definition of what.
func FileFlag(cmd *cobra.Command, file *string, what string) {
	cmd.Flags().StringVarP(file, "file", "f", "", what+" definition (JSON); - for standard input")
}
