package cli

import (
	"context"
	"fmt"
	"strings"
)

// DeploymentList prints the running deployments: id, version, apps and pods, step, current
// actions.
func DeploymentList(ctx context.Context, e *Env) error {
	c, raw := e.rawClient()
	ds, err := c.Deployments(ctx)
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	t := newTable(e.Out, "ID", "VERSION", "AFFECTED", "STEP", "CURRENT ACTIONS")
	for _, d := range ds {
		affected := append(append([]string{}, d.AffectedApps...), d.AffectedPods...)
		cur := make([]string, len(d.CurrentActions))
		for i, a := range d.CurrentActions {
			cur[i] = strings.TrimSpace(a.Action + " " + a.App + a.Pod)
		}
		t.row(d.ID, d.Version, orDash(strings.Join(affected, ",")),
			fmt.Sprintf("%d/%d", d.CurrentStep, d.TotalSteps), orDash(strings.Join(cur, ", ")))
	}
	return t.flush()
}

// DeploymentRollback cancels a deployment and starts one that reverts it; with force it only
// cancels it. With wait it follows the reverting deployment.
func DeploymentRollback(ctx context.Context, e *Env, id string, o ChangeOptions) error {
	c, raw := e.rawClient()
	res, err := c.RollbackDeployment(ctx, id, o.Force)
	if err != nil {
		return err
	}
	if res.DeploymentID == "" {
		if e.JSON {
			return printJSON(e.Out, []byte(`{}`))
		}
		fmt.Fprintf(e.Out, "Cancelled deployment %s without rolling it back\n", id)
		return nil
	}
	return e.changed(ctx, *raw, res, "Rolling back deployment "+id, o.Wait)
}
