package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/marina-dcos/marina/internal/agent/docker"
	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// dockerBenchImage is the image scripts/build-test-image.sh builds.
const dockerBenchImage = "marina-busybox:latest"

// BenchmarkDockerLaunchToStarted measures the Docker executor's Launch -> Started (what the
// agent reports as TASK_RUNNING) with a local image, on the bridge and on the host's network,
// next to the engine's own floor: create + start of the same image through the same client, with
// no sandbox, limits or log follower. Target: p50 <= 1 s.
func BenchmarkDockerLaunchToStarted(b *testing.B) {
	cli := dockertest.Engine(b, dockerBenchImage)
	ctx := testutil.Context(b)
	for _, network := range []string{"BRIDGE", "HOST"} {
		b.Run(network, func(b *testing.B) {
			const samples = 20
			var launch, floor []time.Duration
			for range b.N {
				launch = append(launch, dockerLaunches(b, ctx, network, samples)...)
				floor = append(floor, engineFloor(b, ctx, cli, network, samples)...)
			}
			p50, p99 := percentiles(launch)
			f50, f99 := percentiles(floor)
			b.ReportMetric(ms(p50), "p50-ms")
			b.ReportMetric(ms(p99), "p99-ms")
			b.ReportMetric(ms(f50), "engine-p50-ms")
			fmt.Printf("docker launch->started (%s) over %d launches: p50 %.0f ms, p99 %.0f ms; engine create+start: p50 %.0f ms, p99 %.0f ms (target p50 <= 1000 ms)\n",
				network, len(launch), ms(p50), ms(p99), ms(f50), ms(f99))
		})
	}
}

// dockerLaunches launches n tasks one after the other and times each Launch -> Started; each
// container is removed, untimed, before the next launch.
func dockerLaunches(b *testing.B, ctx context.Context, network string, n int) []time.Duration {
	ex, err := docker.New(docker.Config{Logger: testutil.Logger(b, "docker"), AgentID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Close()
	var out []time.Duration
	for range n {
		spec := dockerSpec(b, network)
		start := time.Now()
		c, err := ex.Launch(ctx, spec)
		if err == nil {
			err = c.Started(ctx)
		}
		if err != nil {
			b.Fatalf("launch: %v", err)
		}
		out = append(out, time.Since(start))
		if err := c.Kill(ctx, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		if err := ex.Cleanup(ctx, spec); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func dockerSpec(b *testing.B, network string) executor.Spec {
	dir := b.TempDir()
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	cid := hex.EncodeToString(id)
	cmd := "exec sleep 600"
	spec := executor.Spec{
		ContainerID: cid, FrameworkID: "bench", AgentID: "bench", Hostname: "localhost",
		Task: mesos.TaskInfo{
			Name: "bench", TaskID: mesos.ID{Value: "bench-" + cid},
			Command: &mesos.CommandInfo{Value: &cmd},
			Resources: mesos.Resources{
				mesos.ScalarResource(mesos.ResourceCPUs, 0.1),
				mesos.ScalarResource(mesos.ResourceMem, 32),
			},
			Container: &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: dockerBenchImage, Network: network}},
		},
		Sandbox:  filepath.Join(dir, "sandbox"),
		StateDir: filepath.Join(dir, "state"),
	}
	for _, d := range []string{spec.Sandbox, spec.StateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return spec
}

// engineFloor times n bare create + start calls of the same image and network.
func engineFloor(b *testing.B, ctx context.Context, cli *client.Client, network string, n int) []time.Duration {
	mode := container.NetworkMode("bridge")
	if network == "HOST" {
		mode = "host"
	}
	var out []time.Duration
	for range n {
		start := time.Now()
		created, err := cli.ContainerCreate(ctx, &container.Config{Image: dockerBenchImage, Cmd: []string{"sleep", "600"}},
			&container.HostConfig{NetworkMode: mode}, nil, nil, "")
		if err == nil {
			err = cli.ContainerStart(ctx, created.ID, container.StartOptions{})
		}
		if err != nil {
			b.Fatalf("engine create+start: %v", err)
		}
		out = append(out, time.Since(start))
		if err := cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
	}
	return out
}
