package marathon

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// Queue lists the apps with instances waiting to be launched, their backoff and what the offers
// considered for them said (GET /v2/queue); with unusedOffers, the last offers each could not
// use and why (embed=lastUnusedOffers).
func (c *Client) Queue(ctx context.Context, unusedOffers bool) (*api.Queue, error) {
	q := url.Values{}
	if unusedOffers {
		q.Set("embed", "lastUnusedOffers")
	}
	var out api.Queue
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v2/queue", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResetDelay ends the launch backoff of an app, so that its queued instances are launched at
// once (DELETE /v2/queue/{id}/delay).
func (c *Client) ResetDelay(ctx context.Context, id string) error {
	path := "/v2/queue" + strings.TrimPrefix(appPath(id), "/v2/apps") + "/delay"
	_, err := c.call(ctx, request{method: http.MethodDelete, path: path}, nil)
	return err
}
