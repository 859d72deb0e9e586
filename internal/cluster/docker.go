package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
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

	progressNotes

	mu    sync.Mutex
	cli   *client.Client
	image *nodeImage // planned once per binary
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
	if err := planBinary(c, "docker", d.binary); err != nil {
		return err
	}
	subnet, err := d.subnet(c)
	if err != nil {
		return err
	}
	dir := absDir(c) // bind mounts need absolute paths
	agents := c.Spec.Agents.Expand()
	if hosts := 1<<(32-subnet.Bits()) - 2; 10+len(agents) > hosts {
		return fmt.Errorf("docker provider: %d agents do not fit in %s (agents start at .11): set a wider provider.settings.subnet", len(agents), subnet)
	}
	addr := func(host int) string { return nthAddr(subnet, host).String() }
	// etcd's client port is on each container's loopback.
	planOnThisMachine(c, agents, addr, nodeFiles{root: dir}, etcdPeer, servicesPort)
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
		d.note("built node image %s (%s)", img.ref, fmtSeconds(time.Since(start)))
		if n, err := pruneNodeImages(ctx, cli, img.ref); err == nil && n > 0 {
			d.note("removed %d older node images no container uses", n)
		}
	}
	subnet, err := parseSubnet(c.Spec.Provider.Settings["subnet"])
	if err != nil {
		return err
	}
	if err := createNetwork(ctx, cli, c, subnet); err != nil {
		return err
	}
	return makeNodeDirs(c.Nodes)
}
