package cluster

import (
	"context"
	"fmt"
	"strings"
)

// waitServices waits until the services role (the Marathon-compatible API) has elected a
// leader that every master's services instance knows: GET /v2/leader answers with it on each.
// Until then the API answers 503 or proxies to nobody.
func waitServices(ctx context.Context, prov Provider, c *Cluster) error {
	ctx = withAuth(ctx, c)
	masters := c.Masters()
	for {
		if err := exited(prov, c, masters); err != nil {
			return err
		}
		lagging, why := servicesLagging(ctx, masters)
		if lagging == nil {
			return nil
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return &NodeError{Node: lagging.Name, Err: fmt.Errorf("%w: services at %s: %v", err, servicesURLFor(lagging), why)}
		}
	}
}

// servicesLagging returns the first master whose services instance names no leader yet, and
// why; nil when every one names the same.
func servicesLagging(ctx context.Context, masters []*Node) (*Node, error) {
	leader := ""
	for _, m := range masters {
		var v struct {
			Leader string `json:"leader"`
		}
		if err := getJSON(ctx, strings.TrimSuffix(servicesURLFor(m), "/")+"/v2/leader", &v); err != nil {
			return m, err
		}
		switch {
		case v.Leader == "":
			return m, fmt.Errorf("no leader")
		case leader != "" && v.Leader != leader:
			return m, fmt.Errorf("names leader %s, another names %s", v.Leader, leader)
		}
		leader = v.Leader
	}
	return nil, nil
}
