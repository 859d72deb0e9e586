package marathon

import (
	"encoding/json"
	"fmt"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// HeaderDeploymentID is the header in which Marathon names the deployment a change started.
const HeaderDeploymentID = "Marathon-Deployment-Id"

// Result is the answer to a change. DeploymentID is set when the change started a deployment
// (it is empty when a kill without scale answered with the tasks killed, or a forced rollback
// only cancelled).
type Result struct {
	DeploymentID string
	Version      string
	// App is the app POST /v2/apps created.
	App *api.App
	// Tasks are the tasks a kill without scale killed.
	Tasks []api.Task
}

// resultOf reads a change's answer: a DeploymentResult, an app (isApp: POST /v2/apps), a task
// list or a single task, and the Marathon-Deployment-Id header.
func resultOf(resp *response, isApp bool) (*Result, error) {
	r := &Result{DeploymentID: resp.header.Get(HeaderDeploymentID)}
	if len(resp.body) == 0 {
		return r, nil
	}
	if isApp {
		var app api.App
		if err := json.Unmarshal(resp.body, &app); err != nil {
			return nil, fmt.Errorf("decode created app: %w", err)
		}
		r.App, r.Version = &app, app.Version
		if r.DeploymentID == "" && len(app.Deployments) > 0 {
			r.DeploymentID = app.Deployments[0].ID
		}
		return r, nil
	}
	var body struct {
		DeploymentID string     `json:"deploymentId"`
		Version      string     `json:"version"`
		Tasks        []api.Task `json:"tasks"`
		Task         *api.Task  `json:"task"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	if body.DeploymentID != "" {
		r.DeploymentID = body.DeploymentID
	}
	r.Version, r.Tasks = body.Version, body.Tasks
	if body.Task != nil {
		r.Tasks = append(r.Tasks, *body.Task)
	}
	return r, nil
}
