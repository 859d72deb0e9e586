package cli

import (
	"context"
	"fmt"
)

// Leader prints the leading services instance's host:port, or, with abdicate, makes it give up
// its leadership and prints the server's message.
func Leader(ctx context.Context, e *Env, abdicate bool) error {
	c, raw := e.rawClient()
	var (
		line string
		err  error
	)
	if abdicate {
		line, err = c.AbdicateLeader(ctx)
	} else {
		line, err = c.Leader(ctx)
	}
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	fmt.Fprintln(e.Out, line)
	return nil
}
