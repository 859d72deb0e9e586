package cluster

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// nodeFiles lays out a cluster's files under one root, the same for every provider: on this
// machine (local, docker: the cluster's directory) or on its hosts (ssh, azure).
type nodeFiles struct{ root string }

func (r nodeFiles) binary() string                 { return path.Join(r.root, "bin", "marina") }
func (r nodeFiles) workDir(node string) string     { return path.Join(r.root, "nodes", node) }
func (r nodeFiles) logFile(node string) string     { return path.Join(r.root, "logs", node+".log") }
func (r nodeFiles) pidFile(node string) string     { return path.Join(r.root, "run", node+".pid") }
func (r nodeFiles) credentials(node string) string { return path.Join(r.root, "credentials", node) }

// planNode lays out node i of a role at address ip: its API on port (its URL, plain http until
// GenerateCredentials), its other ports, its work dir and log under files.
func planNode(role Role, i int, ip string, files nodeFiles, port int, ports ...int) *Node {
	name := fmt.Sprintf("%s-%d", role, i)
	return &Node{
		Name: name, Role: role, Index: i, IP: ip,
		URL:     "http://" + net.JoinHostPort(ip, strconv.Itoa(port)),
		Ports:   append([]int{port}, ports...),
		WorkDir: files.workDir(name),
		LogFile: files.logFile(name),
	}
}

// planOnThisMachine lays out the nodes of a cluster whose nodes all run on this machine, each
// at an address of its own on one network (addr gives the address of its host number): masters
// on hosts 2, 3, ... with masterPorts besides the master's, agents of the spec on hosts 11,
// 12, ... They share the machine: an agent offers its share of it (defaultAgentResources)
// unless the spec says, with a port range of its own. It sets c's nodes and endpoints.
func planOnThisMachine(c *Cluster, agents []AgentSpec, addr func(host int) string, files nodeFiles, masterPorts ...int) {
	c.Nodes = nil
	for i := 1; i <= c.Spec.Masters; i++ {
		c.Nodes = append(c.Nodes, planNode(RoleMaster, i, addr(1+i), files, masterPort, masterPorts...))
	}
	defaults := defaultAgentResources(c.Dir, len(agents))
	ranges := agentPortRanges(len(agents))
	for i, a := range agents {
		n := planNode(RoleAgent, i+1, addr(11+i), files, agentPort)
		n.Resources, n.Attributes = withPortRange(a.Resources, defaults, ranges[i]), a.Attributes
		c.Nodes = append(c.Nodes, n)
	}
	c.setEndpoints()
}

// planBinary sets the marina binary the cluster's nodes run, unless c has one: the provider's
// binary setting, else the running executable.
func planBinary(c *Cluster, provider, setting string) error {
	if c.Binary == "" {
		c.Binary = setting
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("%s provider: find the marina binary: %w", provider, err)
		}
		c.Binary = exe
	}
	return nil
}

// makeNodeDirs makes the work directory and the log file's directory of nodes on this machine.
func makeNodeDirs(nodes []*Node) error {
	for _, n := range nodes {
		if err := os.MkdirAll(n.WorkDir, 0o700); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(n.LogFile), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// withPortRange returns an agent's resources: the spec's, else defaults, with a port range of
// its own unless they name one. Agents share the engine's ports for their docker tasks, so
// their ranges must not overlap.
func withPortRange(res, defaults, ports string) string {
	if res == "" {
		res = defaults
	}
	if r, err := mesos.ParseResources(res); err == nil && r.RangesOf(mesos.ResourcePorts) == nil {
		res += ";ports:" + ports
	}
	return res
}

// planResources is what a dry-run plan shows of node n's offer: an agent's resources (or that
// it detects them) and its attributes; "-" for a master.
func planResources(n *Node) string {
	if n.Role != RoleAgent {
		return "-"
	}
	res := cmp.Or(n.Resources, "detected by the agent")
	if n.Attributes != "" {
		res += "; " + n.Attributes
	}
	return res
}
