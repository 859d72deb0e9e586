package node

import (
	"context"

	"github.com/marina-dcos/marina/internal/agent"
)

// StartAgent starts an agent node after checking that its listener is safe to expose.
func StartAgent(ctx context.Context, cfg agent.Config) (*agent.Agent, error) {
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:5051"
	}
	if err := CheckBind(listen, cfg.AuthToken); err != nil {
		return nil, err
	}
	a, err := agent.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	return a, nil
}
