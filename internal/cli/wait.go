package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
)

// follow waits for a deployment to end, printing its steps to stderr as they start and end.
// A failed deployment is an error (exit 1).
func (e *Env) follow(ctx context.Context, id string) error {
	start := time.Now()
	fmt.Fprintf(e.Err, "Waiting for deployment %s\n", id)
	err := e.Client.WaitForDeploymentWith(ctx, id, marathon.WaitOptions{
		PollInterval: e.WaitPoll,
		Progress:     func(p marathon.Progress) { fmt.Fprintln(e.Err, progressLine(p)) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Err, "Deployment %s succeeded (%s)\n", id, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// progressLine is one line of a deployment's progress: "  step 1/2 started: StartApplication /web".
func progressLine(p marathon.Progress) string {
	step := "?"
	if p.Step > 0 {
		step = strconv.Itoa(p.Step)
	}
	what := map[string]string{
		api.EventDeploymentInfoType:        " started",
		api.EventDeploymentStepSuccessType: " done",
		api.EventDeploymentStepFailureType: " failed",
	}[p.Event]
	return fmt.Sprintf("  step %s/%d%s: %s", step, p.TotalSteps, what, actions(p.Actions))
}

// actions prints a step's actions: "ScaleApplication /web, StopApplication /old".
func actions(as []api.DeploymentAction) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = strings.TrimSpace(a.Action + " " + a.App + a.Pod)
	}
	return orDash(strings.Join(out, ", "))
}
