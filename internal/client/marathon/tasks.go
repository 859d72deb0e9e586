package marathon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// Tasks lists an app's tasks (GET /v2/apps/{id}/tasks).
func (c *Client) Tasks(ctx context.Context, appID string) ([]api.Task, error) {
	var out api.TaskList
	if _, err := c.call(ctx, request{method: http.MethodGet, path: appPath(appID, "tasks")}, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

// AllTasks lists every app's tasks (GET /v2/tasks), only those in the given statuses
// (running, staging...) when any are given.
func (c *Client) AllTasks(ctx context.Context, status ...string) ([]api.Task, error) {
	q := url.Values{}
	for _, s := range status {
		q.Add("status[]", s)
	}
	var out api.TaskList
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v2/tasks", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

func killQuery(scale, wipe bool) (url.Values, error) {
	if scale && wipe {
		return nil, fmt.Errorf("kill: scale and wipe exclude each other")
	}
	q := url.Values{}
	if scale {
		q.Set("scale", "true")
	}
	if wipe {
		q.Set("wipe", "true")
	}
	return q, nil
}

// KillTask kills one task of an app (DELETE /v2/apps/{appId}/tasks/{taskId}). With scale the
// app is scaled down by one and the result names the deployment; otherwise Result.Tasks holds
// the task killed. wipe also destroys a resident task's persistent volumes.
func (c *Client) KillTask(ctx context.Context, appID, taskID string, scale, wipe bool) (*Result, error) {
	q, err := killQuery(scale, wipe)
	if err != nil {
		return nil, err
	}
	resp, err := c.call(ctx, request{method: http.MethodDelete, path: appPath(appID, "tasks", taskID), query: q}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}

// KillTasks kills tasks of any apps by id (POST /v2/tasks/delete). Marathon answers 400 when
// an id is unknown.
func (c *Client) KillTasks(ctx context.Context, taskIDs []string, scale, wipe bool) (*Result, error) {
	q, err := killQuery(scale, wipe)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(api.DeleteTasks{IDs: taskIDs})
	if err != nil {
		return nil, err
	}
	resp, err := c.call(ctx, request{method: http.MethodPost, path: "/v2/tasks/delete", query: q, body: body}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}

// KillAppTasks kills all tasks of an app, or those on one agent when host is set
// (DELETE /v2/apps/{id}/tasks).
func (c *Client) KillAppTasks(ctx context.Context, appID, host string, scale, wipe bool) (*Result, error) {
	q, err := killQuery(scale, wipe)
	if err != nil {
		return nil, err
	}
	if host != "" {
		q.Set("host", host)
	}
	resp, err := c.call(ctx, request{method: http.MethodDelete, path: appPath(appID, "tasks"), query: q}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}
