package cluster

import (
	"net"
	"strconv"
	"strings"
)

// nodeCommand is what differs between providers in their nodes' command lines; every other
// flag is the same for every provider, set by nodeArgs.
type nodeCommand struct {
	// fastFailover gives masters fast etcd timing (heartbeat 50 ms, election 500 ms) and a 1 s
	// leader TTL, which loopback or a bridge on one machine allows, so that a master failover
	// takes about a second. Without it masters keep marina's defaults, which suit a LAN or a
	// cloud network.
	fastFailover bool
	// credentialsDir is where node n finds its credentials files (NodeArgs) on its machine, for
	// a cluster with credentials; nil means on this machine (Credentials.NodeDir).
	credentialsDir func(n *Node) string
	// dockerPublishedAt, when set, is where the engine publishes the host ports of agents'
	// docker tasks: agents in containers relay them from their own address.
	dockerPublishedAt string
}

// setNodeArgs sets every node's command line (nodeArgs).
func setNodeArgs(c *Cluster, nc nodeCommand) {
	for _, n := range c.Nodes {
		n.Args = nodeArgs(c, n, nc)
	}
}

// nodeArgs returns node n's command line: `marina master` or `marina agent` on n's address
// with the standard ports, every master's address, n's work dir, an agent's resources and
// attributes when the spec gives them (else the agent detects its resources), and, when the
// cluster has credentials (GenerateCredentials), the flags that make n use its share of them.
// Agents reach the masters at their private addresses, over https under credentials.
func nodeArgs(c *Cluster, n *Node, nc nodeCommand) []string {
	scheme := "http://"
	if c.Credentials != nil {
		scheme = "https://"
	}
	var ips, urls []string
	for _, m := range c.Masters() {
		ips = append(ips, m.IP)
		urls = append(urls, scheme+net.JoinHostPort(m.IP, strconv.Itoa(masterPort)))
	}
	var args []string
	switch n.Role {
	case RoleMaster:
		args = []string{"master",
			"--ip", n.IP, "--port", strconv.Itoa(masterPort),
			"--masters", strings.Join(ips, ","),
			"--work-dir", n.WorkDir,
			"--etcd-client-port", strconv.Itoa(etcdClient), "--etcd-peer-port", strconv.Itoa(etcdPeer),
			"--services-port", strconv.Itoa(servicesPort),
		}
		if nc.fastFailover {
			args = append(args, "--etcd-heartbeat-ms", "50", "--etcd-election-ms", "500", "--leader-ttl", "1s")
		}
	case RoleAgent:
		args = []string{"agent",
			"--listen", net.JoinHostPort(n.IP, strconv.Itoa(agentPort)),
			"--hostname", n.IP,
			"--master", strings.Join(urls, ","),
			"--work-dir", n.WorkDir,
		}
		if n.Resources != "" {
			args = append(args, "--resources", n.Resources)
		}
		if n.Attributes != "" {
			args = append(args, "--attributes", n.Attributes)
		}
		if nc.dockerPublishedAt != "" {
			args = append(args, "--docker-published-at", nc.dockerPublishedAt)
		}
	}
	if c.Credentials != nil {
		dir := c.Credentials.NodeDir(n.Name)
		if nc.credentialsDir != nil {
			dir = nc.credentialsDir(n)
		}
		args = append(args, NodeArgs(dir)...)
	}
	return args
}
