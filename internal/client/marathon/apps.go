package marathon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// AppFilter narrows GET /v2/apps. Empty fields do not filter.
type AppFilter struct {
	ID    string   // apps whose id contains this
	Cmd   string   // apps whose cmd contains this
	Label string   // a label selector: "env==prod,tier!=web"
	Embed []string // apps.tasks, apps.counts, apps.deployments, apps.lastTaskFailure, apps.taskStats...
}

func (f AppFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"id": f.ID, "cmd": f.Cmd, "label": f.Label} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, e := range f.Embed {
		q.Add("embed", e)
	}
	return q
}

// Apps lists the apps that match f (GET /v2/apps).
func (c *Client) Apps(ctx context.Context, f AppFilter) ([]api.App, error) {
	var out struct {
		Apps []api.App `json:"apps"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v2/apps", query: f.query()}, &out); err != nil {
		return nil, err
	}
	return out.Apps, nil
}

// App returns one app (GET /v2/apps/{id}), with the given embeds (app.tasks, app.counts,
// app.deployments, app.lastTaskFailure, app.taskStats...).
func (c *Client) App(ctx context.Context, id string, embed ...string) (*api.App, error) {
	q := url.Values{}
	for _, e := range embed {
		q.Add("embed", e)
	}
	var out struct {
		App *api.App `json:"app"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: appPath(id), query: q}, &out); err != nil {
		return nil, err
	}
	if out.App == nil {
		return nil, fmt.Errorf("GET %s: answer has no app", appPath(id))
	}
	return out.App, nil
}

// CreateApp creates an app (POST /v2/apps). The fields GET adds (task counts, version...)
// are not sent.
func (c *Client) CreateApp(ctx context.Context, app *api.App) (*Result, error) {
	def, err := json.Marshal(app.ReadOnlyStripped())
	if err != nil {
		return nil, fmt.Errorf("create app: %w", err)
	}
	return c.CreateAppJSON(ctx, def)
}

// CreateAppJSON creates an app from its JSON definition, sent unchanged (POST /v2/apps).
// Marathon answers with the app; Result.App holds it.
func (c *Client) CreateAppJSON(ctx context.Context, def []byte) (*Result, error) {
	resp, err := c.call(ctx, request{method: http.MethodPost, path: "/v2/apps", body: def}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, true)
}

// UpdateApp replaces an app's definition with app (PUT /v2/apps/{id}?partialUpdate=false):
// fields app leaves out take their defaults. The fields GET adds are not sent. force cancels a
// deployment that locks the app.
func (c *Client) UpdateApp(ctx context.Context, app *api.App, force bool) (*Result, error) {
	def, err := json.Marshal(app.ReadOnlyStripped())
	if err != nil {
		return nil, fmt.Errorf("update app: %w", err)
	}
	q := forceQuery(force)
	q.Set("partialUpdate", "false")
	return c.putApp(ctx, app.ID, def, q)
}

// UpdateAppJSON changes app id with a JSON definition sent unchanged (PUT /v2/apps/{id}), with
// Marathon's default semantics: the fields given replace the app's, the others stay. An app
// that does not exist is created.
func (c *Client) UpdateAppJSON(ctx context.Context, id string, def []byte, force bool) (*Result, error) {
	return c.putApp(ctx, id, def, forceQuery(force))
}

// RollbackApp deploys the definition app id had in version again, under a new version
// (PUT /v2/apps/{id} {"version": version}).
func (c *Client) RollbackApp(ctx context.Context, id, version string, force bool) (*Result, error) {
	def, err := json.Marshal(map[string]string{"version": version})
	if err != nil {
		return nil, fmt.Errorf("roll back %s: %w", id, err)
	}
	return c.putApp(ctx, id, def, forceQuery(force))
}

// ScaleApp sets an app's number of instances (PUT /v2/apps/{id} {"instances": n}).
func (c *Client) ScaleApp(ctx context.Context, id string, instances int, force bool) (*Result, error) {
	if instances < 0 {
		return nil, fmt.Errorf("scale %s: instances must not be negative, got %d", id, instances)
	}
	def := []byte(`{"instances":` + strconv.Itoa(instances) + `}`)
	return c.putApp(ctx, id, def, forceQuery(force))
}

func (c *Client) putApp(ctx context.Context, id string, def []byte, q url.Values) (*Result, error) {
	resp, err := c.call(ctx, request{method: http.MethodPut, path: appPath(id), query: q, body: def}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}

// RestartApp replaces every task of an app (POST /v2/apps/{id}/restart).
func (c *Client) RestartApp(ctx context.Context, id string, force bool) (*Result, error) {
	resp, err := c.call(ctx, request{method: http.MethodPost, path: appPath(id, "restart"), query: forceQuery(force)}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}

// DeleteApp stops and removes an app (DELETE /v2/apps/{id}).
func (c *Client) DeleteApp(ctx context.Context, id string, force bool) (*Result, error) {
	resp, err := c.call(ctx, request{method: http.MethodDelete, path: appPath(id), query: forceQuery(force)}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}

// AppVersions lists the versions of an app's definition (GET /v2/apps/{id}/versions).
func (c *Client) AppVersions(ctx context.Context, id string) ([]string, error) {
	var out struct {
		Versions []string `json:"versions"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: appPath(id, "versions")}, &out); err != nil {
		return nil, err
	}
	return out.Versions, nil
}

// AppVersion returns an app's definition at a version (GET /v2/apps/{id}/versions/{version}).
func (c *Client) AppVersion(ctx context.Context, id, version string) (*api.App, error) {
	var out api.App
	if _, err := c.call(ctx, request{method: http.MethodGet, path: appPath(id, "versions", version)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
