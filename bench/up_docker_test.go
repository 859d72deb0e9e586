package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// BenchmarkUpDownDocker measures `marina up --provider docker` of a 3+3 cluster until it is
// ready (a leader elected, every agent registered) and `marina down` until no container or
// network of it remains. A first, unmeasured up builds the node image, so the figures are for
// an image already built, as on every up after the first with the same binary. Target: up
// <= 15 s.
func BenchmarkUpDownDocker(b *testing.B) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		b.Skipf("no docker client: %v", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = cli.Ping(ctx)
	cancel()
	if err != nil {
		b.Skipf("docker engine unreachable: %v", err)
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		b.Skip("no static busybox at /bin/busybox for the node image: run scripts/test-deps.sh")
	}
	bin := marinaBinary(b)
	state := b.TempDir()
	name := fmt.Sprintf("bench-dup-%d", os.Getpid())
	run := func(args ...string) (string, time.Duration) {
		var out bytes.Buffer
		cmd := exec.Command(bin, append(args, "--state-dir", state, "--name", name)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("marina %s: %v\n%s", args[0], err, out.String())
		}
		return out.String(), d
	}
	b.Cleanup(func() { _ = exec.Command(bin, "down", "--state-dir", state, "--name", name).Run() })
	up := []string{"up", "--provider", "docker", "--masters", "3", "--agents", "3"}

	out, first := run(up...)
	b.Logf("first up (builds the node image unless the engine has it) %.2fs:\n%s", first.Seconds(), stepLines(out))
	run("down")
	var ups, downs []time.Duration
	for b.Loop() {
		out, u := run(up...)
		_, d := run("down")
		ups, downs = append(ups, u), append(downs, d)
		b.Logf("up %.2fs, down %.2fs; steps:\n%s", u.Seconds(), d.Seconds(), stepLines(out))
	}
	upP50, _ := percentiles(ups)
	downP50, _ := percentiles(downs)
	b.ReportMetric(upP50.Seconds(), "up-s")
	b.ReportMetric(downP50.Seconds(), "down-s")
	fmt.Printf("marina up --provider docker (3 masters + 3 agents, image built, to ready): %.2f s (target <= 15 s); marina down: %.2f s; median of %d\n",
		upP50.Seconds(), downP50.Seconds(), len(ups))
}
