package bench

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/docker"
	"github.com/marina-dcos/marina/internal/agent/health"
	"github.com/marina-dcos/marina/internal/testutil"
	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// BenchmarkDockerCommandCheck measures one COMMAND health check of a docker task: /bin/sh -c
// true run inside a running container through the Engine API (exec create, attach, inspect),
// next to the same command run as a process on the host, as command tasks' checks run.
func BenchmarkDockerCommandCheck(b *testing.B) {
	dockertest.Engine(b, dockerBenchImage)
	ctx := testutil.Context(b)
	ex, err := docker.New(docker.Config{Logger: testutil.Logger(b, "docker"), AgentID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Close()
	spec := dockerSpec(b, "BRIDGE")
	c, err := ex.Launch(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = c.Kill(ctx, 0)
		_, _ = c.Wait(ctx)
		_ = ex.Cleanup(ctx, spec)
	}()
	execer, ok := c.(health.Container)
	if !ok {
		b.Fatalf("%T runs no commands", c)
	}
	const samples = 50
	var inside, host []time.Duration
	for range b.N {
		for range samples {
			start := time.Now()
			code, out, err := execer.Exec(ctx, []string{"/bin/sh", "-c", "true"}, nil)
			if err != nil || code != 0 {
				b.Fatalf("exec: code %d, %v: %s", code, err, out)
			}
			inside = append(inside, time.Since(start))
			start = time.Now()
			if err := exec.CommandContext(ctx, "/bin/sh", "-c", "true").Run(); err != nil {
				b.Fatal(err)
			}
			host = append(host, time.Since(start))
		}
	}
	p50, p99 := percentiles(inside)
	h50, h99 := percentiles(host)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(h50), "host-p50-ms")
	fmt.Printf("COMMAND check in a container over %d checks: p50 %.1f ms, p99 %.1f ms; on the host: p50 %.1f ms, p99 %.1f ms\n",
		len(inside), ms(p50), ms(p99), ms(h50), ms(h99))
}
