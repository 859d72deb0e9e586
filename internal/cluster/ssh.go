package cluster

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func init() {
	providers["ssh"] = func(s map[string]string) (Provider, error) { return NewSSH(s) }
}

// SSH is the ssh provider: the nodes are existing Linux machines reached with SSH. It uploads
// the marina binary, the cluster's credentials and each node's configuration, then runs every
// node as a systemd unit where systemd runs, or as a process in a session of its own with a pid
// file where it does not. Everything it installs on a host lives under one directory (setting
// "dir", default /var/lib/marina/<cluster>), plus a unit file per node under
// /etc/systemd/system; Destroy removes both, and the tasks the agents started.
//
// Settings (all strings, as provider settings are):
//
//	masters                   the masters' hosts, "[user@]address[:port]", comma or space separated
//	agents                    the agents' hosts, likewise (a host may run a master and an agent)
//	user                      login user (default: the current user); not root means sudo -n
//	port                      SSH port (default 22)
//	identity_file             private keys, comma separated (default: ssh-agent, ~/.ssh/id_*)
//	known_hosts               known_hosts files, comma separated (default ~/.ssh/known_hosts)
//	insecure_ignore_host_key  "true" accepts any host key (never on an untrusted network)
//	binary                    the marina binary to upload (default: the running one)
//	dir                       where on the hosts (default /var/lib/marina/<cluster name>)
//
// A node's address is its host's address from the spec: it must be (or resolve to) an address
// of that host, since the node listens on it.
type SSH struct {
	masters, agents []sshHost
	binary          string
	dir             string
	pool            *sshPool

	mu      sync.Mutex
	running map[string]runningProbe // Running's answers, by node name
	binSum  fileSum                 // the binary's, computed once
}

var _ Provider = (*SSH)(nil)

// runningProbe is Running's last answer for a node.
type runningProbe struct {
	at      time.Time
	running bool
}

// runningCacheFor is how long Running trusts its last answer: up polls Running for every node
// every few milliseconds while it waits, and each answer costs a round trip to the host.
const runningCacheFor = time.Second

// runningTimeout bounds Running's look at a host, so that status does not wait long for one
// that is down.
const runningTimeout = 3 * time.Second

// sshSettings are the names NewSSH knows.
var sshSettings = []string{"masters", "agents", "user", "port", "identity_file", "known_hosts",
	"insecure_ignore_host_key", "binary", "dir"}

// NewSSH returns an ssh provider with settings. It loads the SSH identities and known_hosts
// files; it connects to no host yet.
func NewSSH(settings map[string]string) (*SSH, error) {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("provider.settings.%s: "+format, append([]any{k}, args...)...))
	}
	for k := range settings {
		if !slices.Contains(sshSettings, k) {
			bad(k, "unknown setting of the ssh provider (known: %s)", strings.Join(sshSettings, ", "))
		}
	}
	login := settings["user"]
	if login == "" {
		if u, err := user.Current(); err == nil {
			login = u.Username
		} else {
			login = "root"
		}
	}
	port := 22
	if v := settings["port"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			bad("port", "%q is not a port", v)
		}
		port = n
	}
	insecure := false
	if v := settings["insecure_ignore_host_key"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("insecure_ignore_host_key", "%q is not true or false", v)
		}
		insecure = b
	}
	s := &SSH{binary: settings["binary"], dir: settings["dir"]}
	if s.dir != "" && (!path.IsAbs(s.dir) || path.Clean(s.dir) == "/") {
		bad("dir", "%q is not an absolute directory below /", s.dir)
	}
	hosts := func(k string) []sshHost {
		var out []sshHost
		for _, f := range splitList(settings[k]) {
			h, err := parseSSHHost(f, login, port)
			if err != nil {
				bad(k, "%v", err)
				continue
			}
			out = append(out, h)
		}
		return out
	}
	s.masters, s.agents = hosts("masters"), hosts("agents")
	if len(s.masters) == 0 {
		bad("masters", "the ssh provider needs the masters' hosts, like \"10.0.0.1, 10.0.0.2, 10.0.0.3\"")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	auth, err := newSSHAuth(splitList(settings["identity_file"]), splitList(settings["known_hosts"]), insecure)
	if err != nil {
		return nil, fmt.Errorf("ssh provider: %w", err)
	}
	s.pool = &sshPool{auth: auth}
	return s, nil
}

// splitList splits a comma or space separated setting.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// Name returns "ssh".
func (s *SSH) Name() string { return "ssh" }

// Close closes the provider's SSH connections. Up, status and down end their process instead.
func (s *SSH) Close() error { return s.pool.Close() }

// remote is where a cluster's files live on its hosts.
func (s *SSH) remote(c *Cluster) nodeFiles {
	if s.dir != "" {
		return nodeFiles{root: path.Clean(s.dir)}
	}
	return nodeFiles{root: path.Join("/var/lib/marina", c.Name)}
}

// unitName is the systemd unit of node n of cluster c.
func unitName(c *Cluster, n *Node) string { return "marina-" + c.Name + "-" + n.Name + ".service" }

// Plan lays out a master on each host of the masters setting and an agent on each host of the
// agents setting, each at its host's address with the standard ports, its files under the
// remote directory.
func (s *SSH) Plan(c *Cluster) error {
	agents := c.Spec.Agents.Expand()
	var errs []error
	if len(s.masters) != c.Spec.Masters {
		errs = append(errs, fmt.Errorf("ssh provider: the spec has %d masters but provider.settings.masters lists %d hosts", c.Spec.Masters, len(s.masters)))
	}
	if len(s.agents) != len(agents) {
		errs = append(errs, fmt.Errorf("ssh provider: the spec has %d agents but provider.settings.agents lists %d hosts", len(agents), len(s.agents)))
	}
	seen := map[string]bool{}
	for _, h := range s.masters {
		if seen[h.Addr] {
			errs = append(errs, fmt.Errorf("ssh provider: host %s is listed twice among the masters", h.Addr))
		}
		seen[h.Addr] = true
	}
	clear(seen)
	for _, h := range s.agents {
		if seen[h.Addr] {
			errs = append(errs, fmt.Errorf("ssh provider: host %s is listed twice among the agents", h.Addr))
		}
		seen[h.Addr] = true
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := planBinary(c, "ssh", s.binary); err != nil {
		return err
	}
	r := s.remote(c)
	c.Nodes = nil
	node := func(role Role, i int, h sshHost, port int, ports ...int) (*Node, error) {
		ip, err := hostIP(h.Addr)
		if err != nil {
			return nil, err
		}
		return planNode(role, i, ip, r, port, ports...), nil
	}
	for i, h := range s.masters {
		n, err := node(RoleMaster, i+1, h, masterPort, etcdClient, etcdPeer, servicesPort)
		if err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, n)
	}
	for i, h := range s.agents {
		n, err := node(RoleAgent, i+1, h, agentPort)
		if err != nil {
			return err
		}
		n.Resources, n.Attributes = agents[i].Resources, agents[i].Attributes
		c.Nodes = append(c.Nodes, n)
	}
	c.setEndpoints()
	return nil
}

// hostIP returns addr when it is an IP address, else the first address it resolves to.
func hostIP(addr string) (string, error) {
	if ip := net.ParseIP(addr); ip != nil {
		return ip.String(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", addr)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("ssh provider: host %s: %w", addr, errors.Join(err, errors.New("no address")))
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String(), nil
		}
	}
	return ips[0].String(), nil
}

// hostOf returns the SSH host node n runs on.
func (s *SSH) hostOf(n *Node) sshHost {
	hosts := s.masters
	if n.Role == RoleAgent {
		hosts = s.agents
	}
	if n.Index >= 1 && n.Index <= len(hosts) {
		return hosts[n.Index-1]
	}
	return sshHost{}
}

// hostNodes groups c's nodes by the host they run on, in the order hosts first appear.
type hostNodes struct {
	host  sshHost
	nodes []*Node
}

func (s *SSH) byHost(nodes []*Node) []hostNodes {
	var out []hostNodes
	idx := map[string]int{}
	for _, n := range nodes {
		h := s.hostOf(n)
		i, ok := idx[h.key()]
		if !ok {
			i = len(out)
			idx[h.key()] = i
			out = append(out, hostNodes{host: h})
		}
		out[i].nodes = append(out[i].nodes, n)
	}
	return out
}

// eachHost runs f for every host of nodes at once and joins the errors.
func (s *SSH) eachHost(ctx context.Context, nodes []*Node, f func(ctx context.Context, conn *sshConn, nodes []*Node) error) error {
	groups := s.byHost(nodes)
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			conn, err := s.pool.get(ctx, g.host)
			if err == nil {
				err = f(ctx, conn, g.nodes)
			}
			var ne *NodeError
			if err != nil && !errors.As(err, &ne) && len(g.nodes) > 0 {
				err = &NodeError{Node: g.nodes[0].Name, Err: err}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Preflight connects to every host and checks that it runs Linux on the binary's architecture,
// that commands can run as root, that each node's address is one of its host's, and that no
// node port is taken.
func (s *SSH) Preflight(ctx context.Context, c *Cluster) error {
	arch, err := binaryArch(c.Binary)
	if err != nil {
		return err
	}
	return s.eachHost(ctx, c.Nodes, func(ctx context.Context, conn *sshConn, nodes []*Node) error {
		asked := time.Now()
		out, err := conn.run(ctx, factsScript)
		if err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		f := parseHostFacts(out)
		var errs []error
		if err := checkClock(f.time, asked); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", conn.host, err))
		}
		if f.os != "Linux" {
			errs = append(errs, fmt.Errorf("%s runs %q, not Linux", conn.host, f.os))
		} else if f.arch != arch {
			errs = append(errs, fmt.Errorf("%s is %s but the marina binary %s is built for %s: set provider.settings.binary to a %s build", conn.host, f.arch, c.Binary, arch, f.arch))
		}
		if f.uid != "0" {
			errs = append(errs, fmt.Errorf("%s: cannot run commands as root (user %s, sudo -n): %s", conn.host, conn.host.User, f.uid))
		}
		if len(f.missing) > 0 {
			errs = append(errs, fmt.Errorf("%s lacks commands the provider runs: %s", conn.host, strings.Join(f.missing, ", ")))
		}
		for _, n := range nodes {
			if !f.localAddr(n.IP) {
				errs = append(errs, &NodeError{Node: n.Name, Err: fmt.Errorf("address %s is not one of host %s's addresses (%s): nodes listen on it", n.IP, conn.host.Addr, strings.Join(f.addrs, ", "))})
			}
			for _, p := range n.Ports {
				if f.listening[p] {
					errs = append(errs, &NodeError{Node: n.Name, Err: fmt.Errorf("%s: port %d is in use", conn.host.Addr, p)})
				}
			}
		}
		return errors.Join(errs...)
	})
}

// maxClockBehind is how far a host's clock may be behind this machine's: the certificates
// issued here are valid from an hour before their issue (pki's backdating), less a margin.
const maxClockBehind = 50 * time.Minute

// checkClock compares a host's clock (Unix seconds, read after asked on this machine's clock)
// with this machine's: a host far behind would find the nodes' certificates not valid yet.
func checkClock(host int64, asked time.Time) error {
	if host == 0 {
		return nil
	}
	if behind := asked.Sub(time.Unix(host+1, 0)); behind > maxClockBehind {
		return fmt.Errorf("its clock is %v behind this machine's: the certificates issued here would not be valid there yet (synchronise the clocks, e.g. with NTP)", behind.Round(time.Second))
	}
	return nil
}

// binaryArch returns the machine of an ELF executable as `uname -m` names it on Linux.
func binaryArch(file string) (string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return "", fmt.Errorf("marina binary %s: %w (the ssh provider uploads a Linux build)", file, err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "x86_64", nil
	case elf.EM_AARCH64:
		return "aarch64", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	}
	return "", fmt.Errorf("marina binary %s: unsupported machine %v", file, f.Machine)
}

// Provision claims the remote directory on every host (refusing one that holds anything but
// this cluster's files), uploads the marina binary (unless the host holds the same one) and
// makes the nodes' directories.
func (s *SSH) Provision(ctx context.Context, c *Cluster) error {
	sum, err := s.binarySum(c.Binary)
	if err != nil {
		return err
	}
	r := s.remote(c)
	return s.eachHost(ctx, c.Nodes, func(ctx context.Context, conn *sshConn, nodes []*Node) error {
		dirs := []string{path.Join(r.root, "logs"), path.Join(r.root, "run")}
		for _, n := range nodes {
			dirs = append(dirs, n.WorkDir)
		}
		if _, err := conn.run(ctx, provisionScript(r, c.Name, dirs)); err != nil {
			return err
		}
		_, err := conn.upload(ctx, r.binary(), 0o755, sum.sha256, sum.size, func() (io.ReadCloser, error) { return os.Open(c.Binary) })
		return err
	})
}

// fileSum is a file's size and sha256 (hex).
type fileSum struct {
	size   int64
	sha256 string
}

// binarySum returns the binary's size and sha256, hashed once.
func (s *SSH) binarySum(file string) (fileSum, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.binSum.sha256 != "" {
		return s.binSum, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return fileSum{}, fmt.Errorf("marina binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileSum{}, fmt.Errorf("marina binary: %w", err)
	}
	s.binSum = fileSum{size: n, sha256: hex.EncodeToString(h.Sum(nil))}
	return s.binSum, nil
}

// Configure generates the cluster's credentials (GenerateCredentials: every ssh node listens
// beyond loopback, so the cluster gets an API token, a CA and a certificate per node, and its
// URLs become https), uploads each node's share of them (unless the host holds them already),
// and sets each node's command line.
func (s *SSH) Configure(ctx context.Context, c *Cluster) error {
	r := s.remote(c)
	cr, err := GenerateCredentials(c, time.Now())
	if err != nil {
		return err
	}
	setNodeArgs(c, s.nodeCommand(c))
	return s.eachHost(ctx, c.Nodes, func(ctx context.Context, conn *sshConn, nodes []*Node) error {
		files := map[string][]byte{}
		for _, n := range nodes {
			for _, name := range []string{NodeTokenFile, NodeCAFile, NodeCertFile, NodeKeyFile} {
				b, err := os.ReadFile(filepath.Join(cr.NodeDir(n.Name), name))
				if err != nil {
					return fmt.Errorf("credentials: %w", err)
				}
				files[path.Join(r.credentials(n.Name), name)] = b
			}
		}
		_, err := conn.writeFiles(ctx, files, 0o600)
		return err
	})
}

// nodeCommand keeps marina's default etcd timing and leader TTL, which suit a LAN, and gives
// each node its credentials where Configure uploads them.
func (s *SSH) nodeCommand(c *Cluster) nodeCommand {
	r := s.remote(c)
	return nodeCommand{credentialsDir: func(n *Node) string { return r.credentials(n.Name) }}
}

// quoteAll shell-quotes every word and joins them with spaces.
func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}

// Start starts each node: as a systemd unit (enabled, so it comes back after a reboot) where
// systemd runs, else in a session of its own with its pid in a file. A node already running is
// left alone. It records each node's pid.
func (s *SSH) Start(ctx context.Context, c *Cluster, nodes []*Node) error {
	r := s.remote(c)
	return s.eachHost(ctx, nodes, func(ctx context.Context, conn *sshConn, nodes []*Node) error {
		for _, n := range nodes {
			unit := unitFile(c, n, r)
			out, err := conn.run(ctx, startScript(r, unitName(c, n), unit, n))
			if err != nil {
				return &NodeError{Node: n.Name, Err: fmt.Errorf("start: %w", err)}
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil || pid <= 0 {
				return &NodeError{Node: n.Name, Err: fmt.Errorf("start: no pid (%q)", strings.TrimSpace(string(out)))}
			}
			n.PID, n.StartTime = pid, 0
			s.remember(n, true)
		}
		return nil
	})
}

// Running reports whether n's process runs on its host; a host that does not answer within
// runningTimeout counts as not running.
func (s *SSH) Running(c *Cluster, n *Node) bool {
	s.mu.Lock()
	p, ok := s.running[n.Name]
	s.mu.Unlock()
	if ok && time.Since(p.at) < runningCacheFor {
		return p.running
	}
	ctx, cancel := context.WithTimeout(context.Background(), runningTimeout)
	defer cancel()
	running := false
	if conn, err := s.pool.get(ctx, s.hostOf(n)); err == nil {
		out, err := conn.run(ctx, statusScript(s.remote(c), unitName(c, n), n))
		running = err == nil && strings.TrimSpace(string(out)) != ""
	}
	s.remember(n, running)
	return running
}

func (s *SSH) remember(n *Node, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[string]runningProbe{}
	}
	s.running[n.Name] = runningProbe{at: time.Now(), running: running}
}

// Logs returns the last lines of n's log file on its host.
func (s *SSH) Logs(c *Cluster, n *Node, lines int) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sshDialTimeout)
	defer cancel()
	conn, err := s.pool.get(ctx, s.hostOf(n))
	if err != nil {
		return nil, err
	}
	out, err := conn.run(ctx, fmt.Sprintf("tail -n %d %s 2>/dev/null || true\n", max(lines, 1), shellQuote(n.LogFile)))
	if err != nil {
		return nil, err
	}
	text := strings.TrimRight(string(out), "\n")
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}
