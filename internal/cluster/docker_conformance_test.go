package cluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/clustertest"
)

// dockerOrSkip returns a client of the Docker Engine, or skips the test when none answers or
// the static busybox the node image needs is missing.
func dockerOrSkip(t *testing.T) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster in containers")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("no Docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Skipf("no Docker Engine reachable: %v", err)
	}
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
