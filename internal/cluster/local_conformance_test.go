package cluster_test

import (
	"testing"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/clustertest"
)

// TestLocalConformance runs the provider conformance suite against the local provider, with a
// 1+1 cluster on addresses of its own.
func TestLocalConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster")
	}
	p, err := cluster.NewLocal(map[string]string{"binary": buildMarina(t), "subnet": "127.0.79"})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Run(t, p, cluster.Spec{Name: "conformance", Masters: 1, Agents: cluster.UniformAgents(1)}, t.TempDir())
}
