package marathon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// groupPath returns the path of a group ("/v2/groups" for the root) or of something under it.
func groupPath(id string, suffix ...string) string {
	return "/v2/groups" + strings.TrimPrefix(appPath(id, suffix...), "/v2/apps")
}

// Group returns a group with its apps and groups (GET /v2/groups/{id}; "/" or "" is the root),
// with the given embeds (group.groups, group.apps, group.apps.tasks, group.apps.counts...;
// none: groups and apps).
func (c *Client) Group(ctx context.Context, id string, embed ...string) (*api.Group, error) {
	q := url.Values{}
	for _, e := range embed {
		q.Add("embed", e)
	}
	var out api.Group
	if _, err := c.call(ctx, request{method: http.MethodGet, path: groupPath(id), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateGroupJSON creates a group from its JSON definition, sent unchanged (POST /v2/groups).
func (c *Client) CreateGroupJSON(ctx context.Context, def []byte, force bool) (*Result, error) {
	return c.changeGroup(ctx, http.MethodPost, "/", def, forceQuery(force))
}

// UpdateGroupJSON changes group id with a JSON definition sent unchanged (PUT /v2/groups/{id}):
// the apps and groups it lists replace the group's, those it leaves out are stopped; a group
// that does not exist is created.
func (c *Client) UpdateGroupJSON(ctx context.Context, id string, def []byte, force bool) (*Result, error) {
	return c.changeGroup(ctx, http.MethodPut, id, def, forceQuery(force))
}

// ScaleGroup multiplies the instances of every app in a group by factor (PUT {"scaleBy"}).
func (c *Client) ScaleGroup(ctx context.Context, id string, factor float64, force bool) (*Result, error) {
	if factor < 0 {
		return nil, fmt.Errorf("scale group %s: the factor must not be negative, got %v", id, factor)
	}
	def := []byte(`{"scaleBy":` + strconv.FormatFloat(factor, 'g', -1, 64) + `}`)
	return c.changeGroup(ctx, http.MethodPut, id, def, forceQuery(force))
}

// RollbackGroup deploys a group as it was at an earlier version (PUT {"version"}).
func (c *Client) RollbackGroup(ctx context.Context, id, version string, force bool) (*Result, error) {
	def := []byte(`{"version":` + strconv.Quote(version) + `}`)
	return c.changeGroup(ctx, http.MethodPut, id, def, forceQuery(force))
}

// DryRunGroupJSON returns the steps UpdateGroupJSON would deploy, deploying nothing
// (PUT /v2/groups/{id}?dryRun=true).
func (c *Client) DryRunGroupJSON(ctx context.Context, id string, def []byte) ([]api.DeploymentStep, error) {
	var out api.DeploymentSteps
	q := url.Values{"dryRun": {"true"}}
	if _, err := c.call(ctx, request{method: http.MethodPut, path: groupPath(id), query: q, body: def}, &out); err != nil {
		return nil, err
	}
	return out.Steps, nil
}

// DeleteGroup stops and removes a group with every app and group in it (DELETE /v2/groups/{id}).
func (c *Client) DeleteGroup(ctx context.Context, id string, force bool) (*Result, error) {
	return c.changeGroup(ctx, http.MethodDelete, id, nil, forceQuery(force))
}

// GroupVersions lists the versions of a group, newest first (GET /v2/groups/{id}/versions).
func (c *Client) GroupVersions(ctx context.Context, id string) ([]string, error) {
	var out []string
	if _, err := c.call(ctx, request{method: http.MethodGet, path: groupPath(id, "versions")}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) changeGroup(ctx context.Context, method, id string, def []byte, q url.Values) (*Result, error) {
	resp, err := c.call(ctx, request{method: method, path: groupPath(id), query: q, body: def}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}
