package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

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
	// Another up may have pruned the image since Provision made it.
	if _, err := ensureNodeImage(ctx, cli, img); err != nil {
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
			labelCluster: c.Name, labelNode: n.Name, labelRole: string(n.Role), labelDir: absDir(c),
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
