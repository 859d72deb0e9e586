package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// dockerTaskLabel is the label the agents' docker executor puts on every task container.
const dockerTaskLabel = "marina.task_id"

// Destroy removes the cluster's node containers (their processes, process tasks included, go
// with them), then the docker tasks its agents started (sibling containers, found by the
// sandbox they mount from under the cluster's node directories), then its network. Everything
// is found by label and mount, not through the state file's nodes, so a cluster whose up
// crashed before recording them is cleaned up too. The node image stays for the next up.
func (d *Docker) Destroy(ctx context.Context, c *Cluster) error {
	cli, err := d.client()
	if err != nil {
		return err
	}
	nodes, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: clusterFilter(c.Name)})
	if err != nil {
		return fmt.Errorf("docker provider: list the cluster's containers: %w", err)
	}
	if err := removeContainers(ctx, cli, nodes); err != nil {
		return err
	}
	tasks, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", dockerTaskLabel))})
	if err != nil {
		return fmt.Errorf("docker provider: list task containers: %w", err)
	}
	if err := removeContainers(ctx, cli, tasksUnder(tasks, filepath.Join(absDir(c), "nodes"))); err != nil {
		return err
	}
	return removeNetworks(ctx, cli, c.Name)
}

// DestroyLeftovers removes the containers and network labelled with cluster name, and the
// docker tasks that mount a sandbox under dir, for a down that has no state file to go by. An
// engine that does not answer has nothing to find.
func (d *Docker) DestroyLeftovers(ctx context.Context, name, dir string) (string, error) {
	cli, err := d.client()
	if err != nil {
		return "", nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = cli.Ping(pctx)
	cancel()
	if err != nil {
		return "", nil
	}
	nodes, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: clusterFilter(name)})
	if err != nil {
		return "", fmt.Errorf("list containers: %w", err)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: clusterFilter(name)})
	if err != nil {
		return "", fmt.Errorf("list networks: %w", err)
	}
	if len(nodes) == 0 && len(nets) == 0 {
		return "", nil
	}
	if err := d.Destroy(ctx, &Cluster{Name: name, Dir: dir}); err != nil {
		return "", err
	}
	return fmt.Sprintf("removed %d containers and %d networks labelled %s=%s, and their docker tasks",
		len(nodes), len(nets), labelCluster, name), nil
}

// tasksUnder returns the containers that mount a directory under dir.
func tasksUnder(list []container.Summary, dir string) []container.Summary {
	var out []container.Summary
	for _, ct := range list {
		for _, m := range ct.Mounts {
			if strings.HasPrefix(m.Source, dir+string(filepath.Separator)) {
				out = append(out, ct)
				break
			}
		}
	}
	return out
}

// removeContainers removes containers, killing those that run, all at once.
func removeContainers(ctx context.Context, cli *client.Client, list []container.Summary) error {
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, ct := range list {
		wg.Go(func() {
			err := cli.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !client.IsErrNotFound(err) && !strings.Contains(err.Error(), "already in progress") {
				errs[i] = fmt.Errorf("remove container %s: %w", strings.TrimPrefix(firstOr(ct.Names, ct.ID), "/"), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
