package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/marina-dcos/marina/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type logFlags struct {
	level  string
	format string
}

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	cmd.PersistentFlags().StringVar(&f.format, "log-format", "text", "log format: text or json")
}

func (f *logFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is neither text nor json", f.format)
}

func newRootCmd() *cobra.Command {
	var lf logFlags
	root := &cobra.Command{
		Use:           "marina",
		Short:         "Marina runs an HA datacenter cluster (masters, agents, Marathon-compatible services) from one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	lf.register(root)
	// Flag errors are usage errors (exit 2) in every command, as in the API groups.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.UsageError(err) })
	root.AddCommand(
		newMasterCmd(&lf),
		newAgentCmd(&lf),
		newVersionCmd(),
		newUpCmd(&lf),
		newDownCmd(&lf),
		newStatusCmd(),
		newAppCmd(),
		newGroupCmd(),
		newTaskCmd(),
		newDeploymentCmd(),
		newLeaderCmd(),
	)
	return root
}

// usageArgs makes v's complaints usage errors (exit 2).
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return cli.UsageError(err)
		}
		return nil
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "marina", version)
		},
	}
}
