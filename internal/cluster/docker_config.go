package cluster

import (
	"context"
	"time"
)

// Configure generates the cluster's credentials and sets each node's command line. The nodes
// listen beyond loopback, so they get the cluster's token and TLS certificates of its CA, in
// their work dir, which is their credentials directory too; the node image carries the marina
// binary that runs up, so the nodes take them.
//
// An agent's docker tasks are its siblings on the engine, which publishes their host ports on
// its own machine, reached from the cluster network at its gateway: each agent relays them
// from its own address (--docker-published-at), where Marathon reports the tasks.
func (d *Docker) Configure(_ context.Context, c *Cluster) error {
	if _, err := GenerateCredentials(c, time.Now()); err != nil {
		return err
	}
	subnet, err := parseSubnet(c.Spec.Provider.Settings["subnet"])
	if err != nil {
		return err
	}
	// The nodes share a bridge on this machine: masters get local ones' fast etcd timing. Each
	// node's credentials are in its work dir, mounted at the same path.
	setNodeArgs(c, nodeCommand{
		fastFailover:      true,
		credentialsDir:    func(n *Node) string { return n.WorkDir },
		dockerPublishedAt: gatewayOf(subnet).String(),
	})
	return nil
}
