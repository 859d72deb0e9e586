package cli

import (
	"context"
	"fmt"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
)

// TaskList prints the tasks of app, or of every app when app is "".
func TaskList(ctx context.Context, e *Env, app string) error {
	c, raw := e.rawClient()
	var (
		tasks []api.Task
		err   error
	)
	if app == "" {
		tasks, err = c.AllTasks(ctx)
	} else {
		tasks, err = c.Tasks(ctx, app)
	}
	if err != nil {
		return err
	}
	if e.JSON {
		return printJSON(e.Out, *raw)
	}
	return taskTable(e, tasks, true)
}

func taskTable(e *Env, tasks []api.Task, withApp bool) error {
	header := []string{"ID", "STATE", "HEALTH", "HOST", "PORTS", "STARTED"}
	if withApp {
		header = append([]string{"APP"}, header...)
	}
	t := newTable(e.Out, header...)
	for _, tk := range tasks {
		row := []string{tk.ID, tk.State, health(tk), tk.Host, ints(tk.Ports), orDash(tk.StartedAt)}
		if withApp {
			row = append([]string{tk.AppID}, row...)
		}
		t.row(row...)
	}
	return t.flush()
}

// health sums up a task's health check results: healthy, unhealthy, or "-" without checks.
func health(t api.Task) string {
	if len(t.HealthCheckResults) == 0 {
		return "-"
	}
	for _, r := range t.HealthCheckResults {
		if !r.Alive {
			return "unhealthy"
		}
	}
	return "healthy"
}

// findTask looks a task up among all tasks; a task that is not there is a not-found error.
func findTask(ctx context.Context, c *marathon.Client, id string) (*api.Task, error) {
	tasks, err := c.AllTasks(ctx)
	if err != nil {
		return nil, err
	}
	for i := range tasks {
		if tasks[i].ID == id {
			return &tasks[i], nil
		}
	}
	return nil, notFoundf("task %s does not exist (marina task list shows the tasks)", id)
}

// TaskKillOptions are task kill's flags.
type TaskKillOptions struct {
	Scale bool // scale the app down by one instead of replacing the task
	Wipe  bool // also destroy a resident task's persistent volumes
	Wait  bool // follow the deployment a scaling kill starts
}

// TaskKill kills a task; its app is found from the task list.
func TaskKill(ctx context.Context, e *Env, id string, o TaskKillOptions) error {
	if o.Scale && o.Wipe {
		return usagef("--scale and --wipe exclude each other")
	}
	task, err := findTask(ctx, e.Client, id)
	if err != nil {
		return err
	}
	c, raw := e.rawClient()
	res, err := c.KillTask(ctx, task.AppID, id, o.Scale, o.Wipe)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("Killed task %s of app %s", id, task.AppID)
	if o.Scale {
		what += ", scaling it down by one"
	}
	return e.changed(ctx, *raw, res, what, o.Wait)
}
