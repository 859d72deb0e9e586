package cluster_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/clustertest"
	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// dockerOrSkip returns a client of the Docker Engine, or skips the test when none answers or
// the static busybox the node image needs is missing.
func dockerOrSkip(t *testing.T) *client.Client {
	t.Helper()
	cli := dockertest.Engine(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no static busybox at /bin/busybox for the node image: run scripts/test-deps.sh (busybox-static)")
	}
	return cli
}

// TestDockerConformance runs the provider conformance suite against the docker provider, with
// a 1+1 cluster.
func TestDockerConformance(t *testing.T) {
	dockerOrSkip(t)
	p, err := cluster.NewDocker(map[string]string{"binary": buildMarina(t)})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("dconf-%d", os.Getpid())
	clustertest.Run(t, p, cluster.Spec{Name: name, Masters: 1, Agents: cluster.UniformAgents(1),
		Provider: cluster.ProviderSpec{Name: "docker"}}, t.TempDir())
}

// TestDockerDownWithoutState checks that down finds a docker cluster's containers and network
// by their labels when its state directory is gone.
func TestDockerDownWithoutState(t *testing.T) {
	cli := dockerOrSkip(t)
	p, err := cluster.NewDocker(map[string]string{"binary": buildMarina(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	state := t.TempDir()
	spec := cluster.Spec{Name: fmt.Sprintf("dlost-%d", os.Getpid()), Masters: 1, Agents: cluster.UniformAgents(0),
		Provider: cluster.ProviderSpec{Name: "docker"}}
	spec.Default()
	c := &cluster.Cluster{Name: spec.Name, Provider: "docker", Spec: spec, Dir: cluster.ClusterDir(state, spec.Name)}
	t.Cleanup(func() { _ = p.Destroy(context.Background(), c) })
	if err := p.Plan(c); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(context.Context, *cluster.Cluster) error{p.Preflight, p.Provision, p.Configure} {
		if err := step(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Start(ctx, c, c.Masters()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := cluster.Down(ctx, cluster.DownOptions{Name: spec.Name, StateDir: state, Out: &out}); err != nil {
		t.Fatalf("down: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "removed 1 containers and 1 networks") {
		t.Errorf("down said: %s", out.String())
	}
	left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "marina.cluster="+spec.Name))})
	if err != nil || len(left) > 0 {
		t.Errorf("containers remain: %v (%v)", left, err)
	}
	if _, err := cli.NetworkInspect(ctx, "marina-"+spec.Name, network.InspectOptions{}); !client.IsErrNotFound(err) {
		t.Errorf("the network remains: %v", err)
	}
}

// TestDockerUpRollsBack checks that an up that fails (here: it runs out of time while the
// masters elect a leader) removes every container and the network it made.
func TestDockerUpRollsBack(t *testing.T) {
	cli := dockerOrSkip(t)
	p, err := cluster.NewDocker(map[string]string{"binary": buildMarina(t)})
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	name := fmt.Sprintf("drollback-%d", os.Getpid())
	var out strings.Builder
	_, err = cluster.Up(t.Context(), cluster.UpOptions{
		Spec:     &cluster.Spec{Name: name, Masters: 3, Agents: cluster.UniformAgents(1), Provider: cluster.ProviderSpec{Name: "docker"}},
		StateDir: state, Wait: true, Timeout: time.Second, Out: &out, Provider: p,
	})
	if err == nil {
		_ = cluster.Down(context.Background(), cluster.DownOptions{Name: name, StateDir: state, Out: io.Discard})
		t.Skipf("the cluster came up within 1s; nothing to roll back:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "roll back") {
		t.Errorf("up failed without a rollback: %v\n%s", err, out.String())
	}
	left, lerr := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "marina.cluster="+name))})
	if lerr != nil || len(left) > 0 {
		t.Errorf("containers remain after the rollback: %v (%v)", left, lerr)
	}
	if _, nerr := cli.NetworkInspect(t.Context(), "marina-"+name, network.InspectOptions{}); !client.IsErrNotFound(nerr) {
		t.Errorf("the network remains after the rollback: %v", nerr)
	}
	if _, serr := os.Stat(cluster.ClusterDir(state, name)); !os.IsNotExist(serr) {
		t.Errorf("state dir remains: %v", serr)
	}
}
