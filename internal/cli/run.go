package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"
)

// Exit ends the process with a code. Tests of the commands replace it.
var Exit = os.Exit

// Op is an API command's work.
type Op func(ctx context.Context, e *Env, args []string) error

// Group prepares a command group (app, task...): the shared flags, and flag errors reported as
// usage errors (exit 2).
func Group(cmd *cobra.Command, o *Options) *cobra.Command {
	o.AddFlags(cmd.PersistentFlags())
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fail(c, UsageError(err))
	})
	return cmd
}

// Run adapts op to cobra's RunE: it checks the arguments with args (a cobra validator; a
// mismatch is a usage error), discovers the cluster, runs op, and reports an error and exits
// with its code (see ExitCode). cobra's own handling, which exits 1, never sees the error.
func Run(o *Options, args cobra.PositionalArgs, op Op) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, argv []string) error {
		if args != nil {
			if err := args(cmd, argv); err != nil {
				return fail(cmd, UsageError(err))
			}
		}
		e, err := o.Env(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		if err == nil {
			err = op(cmd.Context(), e, argv)
		}
		if err != nil {
			return fail(cmd, err)
		}
		return nil
	}
}

// fail reports err and exits with its code; when Exit returns (in tests) it returns err.
func fail(cmd *cobra.Command, err error) error {
	code := Report(cmd.ErrOrStderr(), cmd.CommandPath(), err)
	Exit(code)
	return err
}
