package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
)

// GroupList prints every group under id ("/" for all) with its apps, instances and
// dependencies.
func GroupList(ctx context.Context, e *Env, id string) error {
	c, raw := e.rawClient()
	g, err := c.Group(ctx, id, "group.groups", "group.apps", "group.apps.counts")
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	t := newTable(e.Out, "ID", "APPS", "INSTANCES", "RUNNING", "DEPENDENCIES", "VERSION")
	var walk func(g *api.Group)
	walk = func(g *api.Group) {
		apps, instances, running := 0, 0, 0
		g.Walk(func(a *api.App) {
			apps++
			if a.Instances != nil {
				instances += *a.Instances
			}
			if a.TasksRunning != nil {
				running += *a.TasksRunning
			}
		})
		t.row(g.ID, strconv.Itoa(apps), strconv.Itoa(instances), strconv.Itoa(running),
			orDash(strings.Join(g.Dependencies, ", ")), orDash(g.Version))
		for _, sg := range g.Groups {
			walk(sg)
		}
	}
	walk(g)
	return t.flush()
}

// GroupShow prints a group's version, dependencies and stored versions (newest first, to roll
// back to), then every app in it.
func GroupShow(ctx context.Context, e *Env, id string) error {
	c, raw := e.rawClient()
	g, err := c.Group(ctx, id, "group.groups", "group.apps", "group.apps.counts", "group.apps.deployments")
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	versions, err := c.GroupVersions(ctx, id)
	if err != nil {
		return err
	}
	kv := newTable(e.Out, "ID:", g.ID)
	kv.row("Version:", orDash(g.Version))
	kv.row("Dependencies:", orDash(strings.Join(g.Dependencies, ", ")))
	kv.row("Versions:", orDash(strings.Join(versions, ", ")))
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.Out)
	t := newTable(e.Out, "APP", "INSTANCES", "RUNNING", "DEPENDENCIES", "DEPLOYMENTS", "COMMAND")
	g.Walk(func(a *api.App) {
		t.row(a.ID, intp(a.Instances), intp(a.TasksRunning), orDash(strings.Join(a.Dependencies, ", ")),
			strconv.Itoa(len(a.Deployments)), ellipsis(command(a), 50))
	})
	return t.flush()
}

// GroupCreate creates a group from a JSON definition file ("-": standard input).
func GroupCreate(ctx context.Context, e *Env, file string, o ChangeOptions) error {
	def, err := e.readDefinition(file, "a group")
	if err != nil {
		return err
	}
	return e.change(ctx, "Created group", o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.CreateGroupJSON(ctx, def, o.Force)
	})
}

// GroupUpdateOptions are the flags of group update.
type GroupUpdateOptions struct {
	ChangeOptions
	DryRun bool // print the steps, deploy nothing
}

// GroupUpdate changes group id to a JSON definition file: the apps and groups it lists replace
// the group's, and those it leaves out are stopped. With DryRun it prints the steps only.
func GroupUpdate(ctx context.Context, e *Env, id, file string, o GroupUpdateOptions) error {
	def, err := e.readDefinition(file, "a group")
	if err != nil {
		return err
	}
	c, raw := e.rawClient()
	if o.DryRun {
		steps, err := c.DryRunGroupJSON(ctx, id, def)
		if err != nil {
			return err
		}
		if e.JSON {
			return printJSON(e.Out, *raw)
		}
		if len(steps) == 0 {
			fmt.Fprintln(e.Out, "Nothing to deploy")
		}
		for i, s := range steps {
			fmt.Fprintf(e.Out, "step %d/%d: %s\n", i+1, len(steps), actions(s.Actions))
		}
		return nil
	}
	res, err := c.UpdateGroupJSON(ctx, id, def, o.Force)
	if err != nil {
		return err
	}
	return e.changed(ctx, *raw, res, "Updated group "+id, o.Wait)
}

// GroupScale multiplies the instances of every app in a group; factor is the argument as given.
func GroupScale(ctx context.Context, e *Env, id, factor string, o ChangeOptions) error {
	f, err := strconv.ParseFloat(factor, 64)
	if err != nil || f < 0 {
		return usagef("the factor must be a number of 0 or more, not %q", factor)
	}
	return e.change(ctx, fmt.Sprintf("Scaling group %s by %s", id, factor), o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.ScaleGroup(ctx, id, f, o.Force)
	})
}

// GroupRollback deploys a group as it was at an earlier version.
func GroupRollback(ctx context.Context, e *Env, id, version string, o ChangeOptions) error {
	return e.change(ctx, fmt.Sprintf("Rolling group %s back to %s", id, version), o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.RollbackGroup(ctx, id, version, o.Force)
	})
}

// GroupDelete stops and removes a group with its apps and groups.
func GroupDelete(ctx context.Context, e *Env, id string, o ChangeOptions) error {
	return e.change(ctx, "Deleting group "+id, o.Wait, func(c *marathon.Client) (*marathon.Result, error) {
		return c.DeleteGroup(ctx, id, o.Force)
	})
}
