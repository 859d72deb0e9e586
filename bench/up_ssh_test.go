package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/cluster/sshtest"
)

// BenchmarkUpSSH measures `marina up --provider ssh` of a 3+3 cluster on six sshd containers,
// until it is ready (a leader elected, every agent registered), from hosts that have nothing of
// it (every iteration uploads the binary to six hosts), and `marina down` until the hosts are
// clean. Target: up <= 20 s.
func BenchmarkUpSSH(b *testing.B) {
	hosts := sshtest.Start(b, 6)
	u := newUpDownCLI(b, "bench-ssh")
	spec := filepath.Join(u.state, "cluster.yaml")
	yaml := fmt.Sprintf(`provider:
  name: ssh
  settings:
    masters: %q
    agents: %q
    user: root
    identity_file: %q
    known_hosts: %q
    binary: %q
masters: 3
agents: 3
`, strings.Join(hosts.IPs[:3], ","), strings.Join(hosts.IPs[3:], ","), hosts.IdentityFile, hosts.KnownHostsFile, u.bin)
	if err := os.WriteFile(spec, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	up, down, n := u.measure(b, "up", "-f", spec)
	fmt.Printf("marina up --provider ssh (3 masters + 3 agents on sshd containers, binary uploaded, to ready): %.2f s (target <= 20 s); marina down: %.2f s; median of %d\n",
		up.Seconds(), down.Seconds(), n)
}
