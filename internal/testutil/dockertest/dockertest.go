// Package dockertest gives tests and benchmarks a client of the local Docker Engine, or skips
// them with a message saying what is missing.
package dockertest

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// Engine returns a client of the local Docker Engine, closed when t ends. It skips t in -short
// mode, when no engine answers, or when the engine lacks one of images (the project's scripts
// build them: scripts/test-deps.sh).
func Engine(t testing.TB, images ...string) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Docker containers: not a short test")
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
	for _, img := range images {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			t.Skipf("image %s missing (scripts/test-deps.sh builds it): %v", img, err)
		}
	}
	return cli
}
