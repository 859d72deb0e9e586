package marathon

import (
	"context"
	"net/http"
	"net/url"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// Deployments lists the running deployments (GET /v2/deployments).
func (c *Client) Deployments(ctx context.Context) ([]api.Deployment, error) {
	var out []api.Deployment
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v2/deployments"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RollbackDeployment cancels a deployment and starts one that reverts its changes
// (DELETE /v2/deployments/{id}); the result names the new deployment. With force the
// deployment is only cancelled (Marathon answers 202) and the result has no deployment.
func (c *Client) RollbackDeployment(ctx context.Context, id string, force bool) (*Result, error) {
	resp, err := c.call(ctx, request{method: http.MethodDelete, path: "/v2/deployments/" + url.PathEscape(id), query: forceQuery(force)}, nil)
	if err != nil {
		return nil, err
	}
	return resultOf(resp, false)
}
