package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// upSubnet keeps the benchmark's cluster off the addresses of a cluster run with the defaults.
const upSubnet = "127.0.78"

// BenchmarkUpDown measures `marina up` of a local 3+3 cluster until it is ready (a leader
// elected, every agent registered) and `marina down` until nothing of it remains. Targets:
// up <= 3 s, down <= 2 s.
func BenchmarkUpDown(b *testing.B) {
	u := newUpDownCLI(b, "bench-up")
	spec := filepath.Join(u.state, "cluster.yaml")
	if err := os.WriteFile(spec, []byte("provider:\n  name: local\n  settings:\n    subnet: "+upSubnet+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	up, down, n := u.measure(b, "up", "-f", spec, "--masters", "3", "--agents", "3")
	fmt.Printf("marina up (local, 3 masters + 3 agents, to ready): %.2f s (target <= 3 s); marina down: %.2f s (target <= 2 s); median of %d\n",
		up.Seconds(), down.Seconds(), n)
}
