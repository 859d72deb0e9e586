package cluster

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Configure generates the cluster's credentials and sets each node's command line. The nodes
// listen beyond loopback, so they get the cluster's token and, when the binary's nodes serve
// TLS, their certificates: in their work dir, which is their credentials directory too.
func (d *Docker) Configure(ctx context.Context, c *Cluster) error {
	withTLS := nodesServeTLS(ctx, c.Binary)
	var err error
	if withTLS {
		_, err = GenerateCredentials(c, time.Now())
	} else {
		err = generateTokenOnly(c)
	}
	if err != nil {
		return err
	}
	var ips []string
	for _, m := range c.Masters() {
		ips = append(ips, m.IP)
	}
	for _, n := range c.Nodes {
		creds := []string{"--auth-token-file", filepath.Join(n.WorkDir, NodeTokenFile)}
		if withTLS {
			creds = NodeArgs(n.WorkDir)
		}
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
			}
			if n.Attributes != "" {
				n.Args = append(n.Args, "--attributes", n.Attributes)
			}
		}
		n.Args = append(n.Args, creds...)
	}
	return nil
}

// nodesServeTLS reports whether the nodes of the marina binary take TLS files (--tls-cert):
// the binary setting may name one older than this code.
func nodesServeTLS(ctx context.Context, binary string) bool {
	ctx, cancel := context.WithTimeout(ctx, dockerOpTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "master", "--help").Output()
	return err == nil && bytes.Contains(out, []byte("--tls-cert"))
}

// generateTokenOnly runs GenerateCredentials on a copy of c for nodes that serve no TLS: c's
// URLs stay http and c records no credentials (its client config entry would name https
// endpoints and a CA); the nodes and the CLI use the token in <dir>/token.
func generateTokenOnly(c *Cluster) error {
	shadow := *c
	shadow.Nodes = make([]*Node, len(c.Nodes))
	for i, n := range c.Nodes {
		cp := *n
		shadow.Nodes[i] = &cp
	}
	shadow.Endpoints.Masters = append([]string(nil), c.Endpoints.Masters...)
	_, err := GenerateCredentials(&shadow, time.Now())
	return err
}
