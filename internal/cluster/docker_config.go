package cluster

import (
	"context"
	"net"
	"strconv"
	"strings"
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
	var ips []string
	for _, m := range c.Masters() {
		ips = append(ips, m.IP)
	}
	for _, n := range c.Nodes {
		switch n.Role {
		case RoleMaster:
			n.Args = []string{"master",
				"--ip", n.IP, "--port", strconv.Itoa(masterPort),
				"--masters", strings.Join(ips, ","),
				"--work-dir", n.WorkDir,
				"--etcd-client-port", strconv.Itoa(etcdClient), "--etcd-peer-port", strconv.Itoa(etcdPeer),
				"--etcd-heartbeat-ms", "50", "--etcd-election-ms", "500",
				"--leader-ttl", "1s",
			}
		case RoleAgent:
			n.Args = []string{"agent",
				"--listen", net.JoinHostPort(n.IP, strconv.Itoa(agentPort)),
				"--hostname", n.IP,
				"--master", strings.Join(c.MasterURLs(), ","),
				"--work-dir", n.WorkDir,
				"--resources", n.Resources,
				"--docker-published-at", gatewayOf(subnet).String(),
			}
			if n.Attributes != "" {
				n.Args = append(n.Args, "--attributes", n.Attributes)
			}
		}
		n.Args = append(n.Args, NodeArgs(n.WorkDir)...)
	}
	return nil
}
