package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
)

// AppListOptions filter app list.
type AppListOptions struct {
	ID, Cmd, Label string
}

// AppList prints the apps: id, instances, task counts, resources, deployments, command.
func AppList(ctx context.Context, e *Env, o AppListOptions) error {
	c, raw := e.rawClient()
	apps, err := c.Apps(ctx, marathon.AppFilter{
		ID: o.ID, Cmd: o.Cmd, Label: o.Label, Embed: []string{"apps.counts", "apps.deployments"},
	})
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	t := newTable(e.Out, "ID", "INSTANCES", "RUNNING", "STAGED", "HEALTHY", "CPUS", "MEM", "DEPLOYMENTS", "COMMAND")
	for _, a := range apps {
		healthy := "-"
		if len(a.HealthChecks) > 0 || a.TasksHealthy != nil && *a.TasksHealthy > 0 {
			healthy = intp(a.TasksHealthy)
		}
		t.row(a.ID, intp(a.Instances), intp(a.TasksRunning), intp(a.TasksStaged), healthy,
			num(a.CPUs), num(a.Mem), strconv.Itoa(len(a.Deployments)), ellipsis(command(&a), 50))
	}
	return t.flush()
}

// command is what an app runs: its cmd, args, or image.
func command(a *api.App) string {
	switch {
	case a.Cmd != nil && *a.Cmd != "":
		return *a.Cmd
	case len(a.Args) > 0:
		return strings.Join(a.Args, " ")
	case a.Container != nil && a.Container.Docker != nil && a.Container.Docker.Image != "":
		return "image " + a.Container.Docker.Image
	}
	return "-"
}

// AppShow prints one app's definition summary, state and tasks.
func AppShow(ctx context.Context, e *Env, id string) error {
	c, raw := e.rawClient()
	a, err := c.App(ctx, id, "app.counts", "app.deployments", "app.tasks", "app.lastTaskFailure")
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	kv := newTable(e.Out, "ID:", a.ID)
	kv.row("Version:", orDash(a.Version))
	kv.row("Instances:", fmt.Sprintf("%s (running %s, staged %s, healthy %s, unhealthy %s)",
		intp(a.Instances), intp(a.TasksRunning), intp(a.TasksStaged), intp(a.TasksHealthy), intp(a.TasksUnhealthy)))
	kv.row("Resources:", fmt.Sprintf("cpus %s, mem %s MiB, disk %s MiB, gpus %d", num(a.CPUs), num(a.Mem), num(a.Disk), a.GPUs))
	kv.row("Command:", command(a))
	if a.Container != nil {
		img := ""
		if a.Container.Docker != nil {
			img = a.Container.Docker.Image
		}
		kv.row("Container:", strings.TrimSpace(cmpOr(a.Container.Type, "DOCKER")+" "+img))
	}
	if len(a.Constraints) > 0 {
		cs := make([]string, len(a.Constraints))
		for i, c := range a.Constraints {
			cs[i] = strings.Join(c, " ")
		}
		kv.row("Constraints:", strings.Join(cs, "; "))
	}
	if len(a.Labels) > 0 {
		kv.row("Labels:", sortedPairs(a.Labels))
	}
	deps := make([]string, len(a.Deployments))
	for i, d := range a.Deployments {
		deps[i] = d.ID
	}
	kv.row("Deployments:", orDash(strings.Join(deps, ", ")))
	if f := a.LastTaskFailure; f != nil {
		kv.row("Last failure:", fmt.Sprintf("%s %s on %s at %s: %s", f.TaskID, f.State, f.Host, f.Timestamp, f.Message))
	}
	if err := kv.flush(); err != nil {
		return err
	}
	if len(a.Tasks) == 0 {
		return nil
	}
	fmt.Fprintln(e.Out)
	return taskTable(e, a.Tasks, false)
}

// ChangeOptions are the flags of commands that start a deployment.
type ChangeOptions struct {
	Force bool // cancel a deployment that locks the app
	Wait  bool // follow the deployment until it ends
}

// AppCreate creates an app from a JSON definition file ("-": standard input).
func AppCreate(ctx context.Context, e *Env, file string, o ChangeOptions) error {
	def, err := e.readDefinition(file, "an app")
	if err != nil {
		return err
	}
	c, raw := e.rawClient()
	res, err := c.CreateAppJSON(ctx, def)
	if err != nil {
		return err
	}
	id := "?"
	if res.App != nil {
		id = res.App.ID
	}
	return e.changed(ctx, *raw, res, "Created app "+id, o.Wait)
}

// AppUpdate changes app id with the fields of a JSON definition file; the others stay. The
// file's "version" and "versionInfo" (as in the output of app show --json) are dropped: sent, a
// version would roll the app back to it instead (see AppRollback).
func AppUpdate(ctx context.Context, e *Env, id, file string, o ChangeOptions) error {
	def, err := e.readDefinition(file, "an app")
	if err != nil {
		return err
	}
	if def, err = withoutVersion(def); err != nil {
		return err
	}
	return e.change(ctx, "Updated app "+id, o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.UpdateAppJSON(ctx, id, def, o.Force)
	})
}

// withoutVersion returns the JSON object def without its version fields.
func withoutVersion(def []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(def, &obj); err != nil {
		return nil, invalidf("not an app definition (a JSON object): %w", err)
	}
	if _, ok := obj["version"]; !ok {
		if _, ok := obj["versionInfo"]; !ok {
			return def, nil
		}
	}
	delete(obj, "version")
	delete(obj, "versionInfo")
	return json.Marshal(obj)
}

// AppRollback deploys the definition an app had in an earlier version again.
func AppRollback(ctx context.Context, e *Env, id, version string, o ChangeOptions) error {
	return e.change(ctx, fmt.Sprintf("Rolling app %s back to version %s", id, version), o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.RollbackApp(ctx, id, version, o.Force)
	})
}

// AppScale sets an app's instances; n is the argument as given.
func AppScale(ctx context.Context, e *Env, id, n string, o ChangeOptions) error {
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 {
		return usagef("instances must be a whole number of 0 or more, not %q", n)
	}
	return e.change(ctx, fmt.Sprintf("Scaling app %s to %d instances", id, count), o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.ScaleApp(ctx, id, count, o.Force)
	})
}

// AppRestart replaces every task of an app.
func AppRestart(ctx context.Context, e *Env, id string, o ChangeOptions) error {
	return e.change(ctx, "Restarting app "+id, o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.RestartApp(ctx, id, o.Force)
	})
}

// AppDelete stops and removes an app.
func AppDelete(ctx context.Context, e *Env, id string, o ChangeOptions) error {
	return e.change(ctx, "Deleting app "+id, o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.DeleteApp(ctx, id, o.Force)
	})
}

// AppQueue prints the apps with instances waiting to be launched: how many, their backoff, the
// offers considered and unused, and why the last ones were declined.
func AppQueue(ctx context.Context, e *Env) error {
	c, raw := e.rawClient()
	q, err := c.Queue(ctx, false)
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	t := newTable(e.Out, "ID", "WAITING", "DELAY", "OFFERS", "UNUSED", "DECLINED FOR")
	for _, item := range q.Queue {
		id := "-"
		if item.App != nil {
			id = item.App.ID
		}
		delay := "-"
		if s := item.Delay.TimeLeftSeconds; s > 0 {
			delay = strconv.FormatInt(s, 10) + "s"
		}
		var why []string
		for _, r := range item.ProcessedOffersSummary.RejectSummaryLastOffers {
			if r.Declined > 0 {
				why = append(why, fmt.Sprintf("%s (%d)", r.Reason, r.Declined))
			}
		}
		sum := item.ProcessedOffersSummary
		t.row(id, strconv.Itoa(item.Count), delay, strconv.Itoa(sum.ProcessedOffersCount), strconv.Itoa(sum.UnusedOffersCount), cmpOr(strings.Join(why, ", "), "-"))
	}
	return t.flush()
}

// AppResetDelay ends an app's launch backoff.
func AppResetDelay(ctx context.Context, e *Env, id string) error {
	if err := e.Client.ResetDelay(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "The launch delay of %s is reset\n", id)
	return nil
}

// readDefinition reads the definition of what (an app, a group) and checks that it is one JSON
// object; the server checks the rest.
func (e *Env) readDefinition(file, what string) ([]byte, error) {
	def, err := e.readInput(file)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(def, &obj); err != nil {
		return nil, invalidf("%s: not %s definition (a JSON object): %w", file, what, err)
	}
	return def, nil
}

// change makes a change with call, then answers as changed does.
func (e *Env) change(ctx context.Context, what string, wait bool, call func(*marathon.Client) (*marathon.Result, error)) error {
	c, raw := e.rawClient()
	res, err := call(c)
	if err != nil {
		return err
	}
	return e.changed(ctx, *raw, res, what, wait)
}

// changed prints the answer to a change, then follows its deployment when wait is set.
func (e *Env) changed(ctx context.Context, raw json.RawMessage, res *marathon.Result, what string, wait bool) error {
	if e.JSON {
		if err := printJSON(e.Out, raw); err != nil {
			return err
		}
	} else {
		line := what
		if res.DeploymentID != "" {
			line += ": deployment " + res.DeploymentID
		}
		if res.Version != "" {
			line += " (version " + res.Version + ")"
		}
		fmt.Fprintln(e.Out, line)
	}
	if !wait || res.DeploymentID == "" {
		return nil
	}
	return e.follow(ctx, res.DeploymentID)
}

func sortedPairs(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return strings.Join(out, ", ")
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
