package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster/sshtest"
)

// BenchmarkUpSSH measures `marina up --provider ssh` of a 3+3 cluster on six sshd containers,
// until it is ready (a leader elected, every agent registered), from hosts that have nothing of
// it (every iteration uploads the binary to six hosts), and `marina down` until the hosts are
// clean. Target: up <= 20 s.
func BenchmarkUpSSH(b *testing.B) {
	hosts := sshtest.Start(b, 6)
	bin := marinaBinary(b)
	state := b.TempDir()
	spec := filepath.Join(state, "cluster.yaml")
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
`, strings.Join(hosts.IPs[:3], ","), strings.Join(hosts.IPs[3:], ","), hosts.IdentityFile, hosts.KnownHostsFile, bin)
	if err := os.WriteFile(spec, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) (string, time.Duration) {
		var out bytes.Buffer
		cmd := exec.Command(bin, append(args, "--state-dir", state, "--name", "bench-ssh")...)
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("marina %s: %v\n%s", args[0], err, out.String())
		}
		return out.String(), d
	}
	b.Cleanup(func() { _ = exec.Command(bin, "down", "--state-dir", state, "--name", "bench-ssh").Run() })

	var ups, downs []time.Duration
	for b.Loop() {
		out, up := run("up", "-f", spec)
		_, down := run("down")
		ups, downs = append(ups, up), append(downs, down)
		b.Logf("up %.2fs, down %.2fs; steps:\n%s", up.Seconds(), down.Seconds(), stepLines(out))
	}
	upP50, _ := percentiles(ups)
	downP50, _ := percentiles(downs)
	b.ReportMetric(upP50.Seconds(), "up-s")
	b.ReportMetric(downP50.Seconds(), "down-s")
	fmt.Printf("marina up --provider ssh (3 masters + 3 agents on sshd containers, binary uploaded, to ready): %.2f s (target <= 20 s); marina down: %.2f s; median of %d\n",
		upP50.Seconds(), downP50.Seconds(), len(ups))
}
