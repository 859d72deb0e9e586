package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// BenchmarkUpDownDocker measures `marina up --provider docker` of a 3+3 cluster until it is
// ready (a leader elected, every agent registered) and `marina down` until no container or
// network of it remains. A first, unmeasured up builds the node image, so the figures are for
// an image already built, as on every up after the first with the same binary. Target: up
// <= 15 s.
func BenchmarkUpDownDocker(b *testing.B) {
	dockertest.Engine(b)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		b.Skip("no static busybox at /bin/busybox for the node image: run scripts/test-deps.sh")
	}
	u := newUpDownCLI(b, fmt.Sprintf("bench-dup-%d", os.Getpid()))
	args := []string{"up", "--provider", "docker", "--masters", "3", "--agents", "3"}
	out, first := u.run(args...)
	b.Logf("first up (builds the node image unless the engine has it) %.2fs:\n%s", first.Seconds(), stepLines(out))
	u.run("down")
	up, down, n := u.measure(b, args...)
	fmt.Printf("marina up --provider docker (3 masters + 3 agents, image built, to ready): %.2f s (target <= 15 s); marina down: %.2f s; median of %d\n",
		up.Seconds(), down.Seconds(), n)
}
