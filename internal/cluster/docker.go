package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

func init() {
	providers["docker"] = func(s map[string]string) (Provider, error) { return NewDocker(s) }
}

// defaultBusybox is where Debian's busybox-static installs a static busybox.
const defaultBusybox = "/bin/busybox"

// dockerOpTimeout bounds one quick Engine API call (inspect, list).
const dockerOpTimeout = 5 * time.Second

// Docker is the docker provider: every node is a container of the node image (built on this
// machine from the marina binary, see docker_image.go) on a bridge network of the cluster's own,
// marina-<name>, with a static address: masters on .2, .3, ...; agents on .11, .12, ...; the
// network's gateway .1 is this machine's side of the bridge. Nodes use the standard ports.
//
// Each node's work directory <dir>/nodes/<name> and the logs directory are bind-mounted at the
// same paths inside its container: logs and credentials stay where up and status look for them,
// and the sandboxes the agents' docker tasks mount from the engine (their sibling containers)
// name paths that exist on the engine's machine. Agents get the engine's socket.
//
// Settings: "subnet", the network's IPv4 subnet (default: the first /24 of 10.77.0.0/16 no
// Docker network or address of this machine uses); "binary", the marina executable to put in the
// image (default: the running one); "busybox", a static busybox for the image's shell (default
// /bin/busybox, from Debian's busybox-static).
type Docker struct {
	binary  string
	busybox string

	mu       sync.Mutex
	cli      *client.Client
	progress Progress
	image    *nodeImage // planned once per binary
}

var (
	_ Provider         = (*Docker)(nil)
	_ ProgressReporter = (*Docker)(nil)
	_ LeftoverFinder   = (*Docker)(nil)
)

// NewDocker returns a docker provider with settings.
func NewDocker(settings map[string]string) (*Docker, error) {
	d := &Docker{busybox: defaultBusybox}
	var errs []error
	for k, v := range settings {
		switch k {
		case "subnet":
			if _, err := parseSubnet(v); err != nil {
				errs = append(errs, fmt.Errorf("provider.settings.subnet: %w", err))
			}
		case "binary":
			d.binary = v
		case "busybox":
			d.busybox = v
		default:
			errs = append(errs, fmt.Errorf("provider.settings.%s: unknown setting of the docker provider (known: subnet, binary, busybox)", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// parseSubnet parses a cluster network's subnet: IPv4, with room for 5 masters and agents.
func parseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if !p.Addr().Is4() || p.Bits() > 26 || p.Bits() < 8 {
		return p, fmt.Errorf("%q: want an IPv4 subnet between /8 and /26, like 10.77.0.0/24", s)
	}
	return p.Masked(), nil
}

// Name returns "docker".
func (d *Docker) Name() string { return "docker" }

// SetProgress lets the provider say when it builds the node image.
func (d *Docker) SetProgress(p Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.progress = p
}

func (d *Docker) note(msg string) {
	d.mu.Lock()
	p := d.progress
	d.mu.Unlock()
	if p != nil {
		p.Note(msg)
	}
}

// client returns the provider's Engine API client (DOCKER_HOST and friends, else the local
// socket), made on first use.
func (d *Docker) client() (*client.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cli == nil {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker: %w", err)
		}
		d.cli = cli
	}
	return d.cli, nil
}

// Plan lays out the nodes on the cluster's subnet, picking a free one when the spec names none
// (recorded in the spec's settings, so that later runs use the same).
func (d *Docker) Plan(c *Cluster) error {
	if c.Binary == "" {
		c.Binary = d.binary
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("docker provider: find the marina binary: %w", err)
		}
		c.Binary = exe
	}
	subnet, err := d.subnet(c)
	if err != nil {
		return err
	}
	// Bind mounts need absolute paths.
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return fmt.Errorf("docker provider: %w", err)
	}
	agents := c.Spec.Agents.Expand()
	if hosts := 1<<(32-subnet.Bits()) - 2; 10+len(agents) > hosts {
		return fmt.Errorf("docker provider: %d agents do not fit in %s (agents start at .11): set a wider provider.settings.subnet", len(agents), subnet)
	}
	c.Nodes = nil
	node := func(role Role, i, host, port int, ports ...int) *Node {
		name := fmt.Sprintf("%s-%d", role, i)
		ip := nthAddr(subnet, host).String()
		return &Node{
			Name: name, Role: role, Index: i, IP: ip,
			URL:     "http://" + net.JoinHostPort(ip, strconv.Itoa(port)),
			Ports:   append([]int{port}, ports...),
			WorkDir: filepath.Join(dir, "nodes", name),
			LogFile: filepath.Join(dir, "logs", name+".log"),
		}
	}
	for i := 1; i <= c.Spec.Masters; i++ {
		c.Nodes = append(c.Nodes, node(RoleMaster, i, 1+i, masterPort, etcdPeer, servicesPort))
	}
	defaults := defaultAgentResources(c.Dir)
	ranges := agentPortRanges(len(agents))
	for i, a := range agents {
		n := node(RoleAgent, i+1, 11+i, agentPort)
		n.Resources, n.Attributes = withPortRange(a.Resources, defaults, ranges[i]), a.Attributes
		c.Nodes = append(c.Nodes, n)
	}
	c.Endpoints = Endpoints{Masters: c.MasterURLs()}
	if ms := c.Masters(); len(ms) > 0 {
		c.Endpoints.Master = ms[0].URL
		c.Endpoints.Services = servicesURL(ms[0].IP)
	}
	return nil
}

// subnet returns the subnet the spec's settings name, or picks a free one and records it there.
func (d *Docker) subnet(c *Cluster) (netip.Prefix, error) {
	if s := c.Spec.Provider.Settings["subnet"]; s != "" {
		return parseSubnet(s)
	}
	var used []netip.Prefix
	if cli, err := d.client(); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), dockerOpTimeout)
		used, _ = usedSubnets(ctx, cli) // an engine that does not answer fails Preflight
		cancel()
	}
	p, err := freeSubnet(subnetPool, used)
	if err != nil {
		return p, fmt.Errorf("docker provider: %w", err)
	}
	settings := map[string]string{"subnet": p.String()}
	for k, v := range c.Spec.Provider.Settings {
		if k != "subnet" {
			settings[k] = v
		}
	}
	c.Spec.Provider.Settings = settings
	return p, nil
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

// Preflight checks that the engine answers, that the image can be made (the binary and its
// libraries, a static busybox), and that neither the cluster's name nor its subnet is taken on
// the engine.
func (d *Docker) Preflight(ctx context.Context, c *Cluster) error {
	cli, err := d.client()
	if err != nil {
		return err
	}
	if _, err := cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker provider: no Docker Engine answers at %s: %w (start Docker, or set DOCKER_HOST)", cli.DaemonHost(), err)
	}
	var errs []error
	if _, err := d.nodeImage(c); err != nil {
		errs = append(errs, err)
	}
	ours, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: clusterFilter(c.Name)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	if len(ours) > 0 {
		errs = append(errs, fmt.Errorf("%d containers of a cluster named %q exist on this engine (state dir %s): run `marina down --name %s` first",
			len(ours), c.Name, ours[0].Labels[labelDir], c.Name))
	}
	subnet, err := parseSubnet(c.Spec.Provider.Settings["subnet"])
	if err != nil {
		return fmt.Errorf("docker provider: subnet: %w", err)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets {
		if n.Name == networkName(c.Name) {
			errs = append(errs, fmt.Errorf("docker network %s exists already: run `marina down --name %s` first, or remove it", n.Name, c.Name))
		}
		for _, ipam := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(ipam.Subnet); err == nil && p.Overlaps(subnet) {
				errs = append(errs, fmt.Errorf("subnet %s overlaps docker network %s (%s): set another provider.settings.subnet", subnet, n.Name, p))
			}
		}
	}
	return errors.Join(errs...)
}

// nodeImage plans the node image of c's binary, once per binary.
func (d *Docker) nodeImage(c *Cluster) (*nodeImage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.image != nil && d.imageFor(c.Binary) {
		return d.image, nil
	}
	img, err := planNodeImage(c.Binary, d.busybox, os.Getuid(), os.Getgid())
	if err != nil {
		return nil, fmt.Errorf("docker provider: node image: %w", err)
	}
	d.image = img
	return img, nil
}

// imageFor reports whether the planned image holds binary.
func (d *Docker) imageFor(binary string) bool {
	for _, f := range d.image.files {
		if f.path == imageBinary {
			return f.src == binary
		}
	}
	return false
}

// Provision makes the node image (unless the engine has it), the cluster's network, and the
// nodes' work and log directories.
func (d *Docker) Provision(ctx context.Context, c *Cluster) error {
	cli, err := d.client()
	if err != nil {
		return err
	}
	img, err := d.nodeImage(c)
	if err != nil {
		return err
	}
	start := time.Now()
	built, err := ensureNodeImage(ctx, cli, img)
	if err != nil {
		return err
	}
	if built {
		d.note(fmt.Sprintf("built node image %s (%s)", img.ref, fmtSeconds(time.Since(start))))
	}
	subnet, err := parseSubnet(c.Spec.Provider.Settings["subnet"])
	if err != nil {
		return err
	}
	if err := createNetwork(ctx, cli, c, subnet); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := os.MkdirAll(n.WorkDir, 0o700); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(n.LogFile), 0o700); err != nil {
			return err
		}
	}
	return nil
}

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

// containerName names node n's container.
func containerName(c *Cluster, n *Node) string { return "marina-" + c.Name + "-" + n.Name }

// Start creates and starts the nodes' containers, all at once; a node's container left from
// an earlier start is replaced.
func (d *Docker) Start(ctx context.Context, c *Cluster, nodes []*Node) error {
	cli, err := d.client()
	if err != nil {
		return err
	}
	img, err := d.nodeImage(c)
	if err != nil {
		return err
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			if err := d.startNode(ctx, cli, c, n, img.ref); err != nil {
				errs[i] = &NodeError{Node: n.Name, Err: err}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (d *Docker) startNode(ctx context.Context, cli *client.Client, c *Cluster, n *Node, image string) error {
	name := containerName(c, n)
	if err := cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove old container %s: %w", name, err)
	}
	logs := filepath.Dir(n.LogFile)
	cfg := &container.Config{
		Image:    image,
		Hostname: n.Name,
		User:     fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
		// The node's output goes to its log file, as a local node's does.
		Entrypoint: []string{"/bin/sh", "-c", `exec ` + imageBinary + ` "$@" >>"$MARINA_LOG" 2>&1`, "marina"},
		Cmd:        n.Args,
		Env:        []string{"MARINA_LOG=" + n.LogFile},
		WorkingDir: n.WorkDir,
		Labels: map[string]string{
			labelCluster: c.Name, labelNode: n.Name, labelRole: string(n.Role), labelDir: c.Dir,
		},
	}
	useInit := true
	host := &container.HostConfig{
		Init: &useInit, // reaps the task supervisors an agent leaves behind
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: n.WorkDir, Target: n.WorkDir},
			{Type: mount.TypeBind, Source: logs, Target: logs},
		},
	}
	if n.Role == RoleAgent {
		if err := withEngine(cli, cfg, host); err != nil {
			return err
		}
	}
	netcfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		networkName(c.Name): {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.IP}},
	}}
	if _, err := cli.ContainerCreate(ctx, cfg, host, netcfg, nil, name); err != nil {
		return fmt.Errorf("create container %s: %w", name, err)
	}
	if err := cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", name, err)
	}
	ins, err := cli.ContainerInspect(ctx, name)
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", name, err)
	}
	n.PID = ins.State.Pid
	return nil
}

// withEngine gives an agent's container the engine the provider talks to, for its docker
// tasks: the engine's socket mounted at the same path (and access to it for a user other than
// root), or DOCKER_HOST for an engine reached over TCP.
func withEngine(cli *client.Client, cfg *container.Config, host *container.HostConfig) error {
	sock, ok := strings.CutPrefix(cli.DaemonHost(), "unix://")
	if !ok {
		cfg.Env = append(cfg.Env, "DOCKER_HOST="+cli.DaemonHost())
		return nil
	}
	host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: sock, Target: client.DefaultDockerHost[len("unix://"):]})
	if os.Getuid() != 0 {
		var st syscall.Stat_t
		if err := syscall.Stat(sock, &st); err != nil {
			return fmt.Errorf("docker socket: %w", err)
		}
		host.GroupAdd = append(host.GroupAdd, strconv.Itoa(int(st.Gid)))
	}
	return nil
}

// Running reports whether n's container runs.
func (d *Docker) Running(c *Cluster, n *Node) bool {
	ins, err := d.inspect(c, n)
	return err == nil && ins.State != nil && ins.State.Running
}

// ExitError says how n's container ended; nil while it runs or when unknown.
func (d *Docker) ExitError(n *Node) error {
	cli, err := d.client()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerOpTimeout)
	defer cancel()
	// A node's work dir is <dir>/nodes/<name>.
	f := filters.NewArgs(filters.Arg("label", labelNode+"="+n.Name),
		filters.Arg("label", labelDir+"="+filepath.Dir(filepath.Dir(n.WorkDir))))
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil || len(list) == 0 || list[0].State == container.StateRunning {
		return nil
	}
	return fmt.Errorf("container %s: %s", strings.TrimPrefix(list[0].Names[0], "/"), list[0].Status)
}

func (d *Docker) inspect(c *Cluster, n *Node) (container.InspectResponse, error) {
	cli, err := d.client()
	if err != nil {
		return container.InspectResponse{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerOpTimeout)
	defer cancel()
	return cli.ContainerInspect(ctx, containerName(c, n))
}

// Logs returns the last lines of n's log file.
func (d *Docker) Logs(_ *Cluster, n *Node, lines int) ([]string, error) {
	return tailFile(n.LogFile, lines)
}
