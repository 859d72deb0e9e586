package marathon

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// Leader returns the leading services instance's host:port (GET /v2/leader). When there is
// none, the error matches ErrNoLeader and ErrNotFound.
func (c *Client) Leader(ctx context.Context) (string, error) {
	var out api.LeaderInfo
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v2/leader"}, &out); err != nil {
		if IsNotFound(err) {
			return "", fmt.Errorf("%w: %w", ErrNoLeader, err)
		}
		return "", err
	}
	if out.Leader == "" {
		return "", errors.New("GET /v2/leader: answer names no leader")
	}
	return out.Leader, nil
}

// AbdicateLeader makes the leading instance give up its leadership, which starts an election
// (DELETE /v2/leader). It returns the server's message.
func (c *Client) AbdicateLeader(ctx context.Context) (string, error) {
	var out struct {
		Message string `json:"message"`
	}
	if _, err := c.call(ctx, request{method: http.MethodDelete, path: "/v2/leader"}, &out); err != nil {
		if IsNotFound(err) {
			return "", fmt.Errorf("%w: %w", ErrNoLeader, err)
		}
		return "", err
	}
	return out.Message, nil
}

// Info returns the server's /v2/info: version, leader, framework id and configuration.
func (c *Client) Info(ctx context.Context) (*api.Info, error) {
	var out api.Info
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v2/info"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
