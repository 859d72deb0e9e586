// Command marina is Marina's single binary: master and agent nodes, and the CLI that stands up
// clusters and drives them. main only wires subcommands; the work lives in internal/.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/cli"
)

func main() {
	supervisor.MaybeRun()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "marina:", err)
		os.Exit(cli.ExitCode(err))
	}
}
