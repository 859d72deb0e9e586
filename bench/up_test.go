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
)

// upSubnet keeps the benchmark's cluster off the addresses of a cluster run with the defaults.
const upSubnet = "127.0.78"

// BenchmarkUpDown measures `marina up` of a local 3+3 cluster until it is ready (a leader
// elected, every agent registered) and `marina down` until nothing of it remains. Targets:
// up <= 3 s, down <= 2 s.
func BenchmarkUpDown(b *testing.B) {
	bin := marinaBinary(b)
	state := b.TempDir()
	spec := filepath.Join(state, "cluster.yaml")
	if err := os.WriteFile(spec, []byte("provider:\n  name: local\n  settings:\n    subnet: "+upSubnet+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) (string, time.Duration) {
		var out bytes.Buffer
		cmd := exec.Command(bin, append(args, "--state-dir", state, "--name", "bench-up")...)
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("marina %s: %v\n%s", args[0], err, out.String())
		}
		return out.String(), d
	}
	b.Cleanup(func() { _ = exec.Command(bin, "down", "--state-dir", state, "--name", "bench-up").Run() })

	var ups, downs []time.Duration
	for b.Loop() {
		out, up := run("up", "-f", spec, "--masters", "3", "--agents", "3")
		_, down := run("down")
		ups, downs = append(ups, up), append(downs, down)
		b.Logf("up %.2fs, down %.2fs; steps:\n%s", up.Seconds(), down.Seconds(), stepLines(out))
	}
	upP50, _ := percentiles(ups)
	downP50, _ := percentiles(downs)
	b.ReportMetric(upP50.Seconds(), "up-s")
	b.ReportMetric(downP50.Seconds(), "down-s")
	fmt.Printf("marina up (local, 3 masters + 3 agents, to ready): %.2f s (target <= 3 s); marina down: %.2f s (target <= 2 s); median of %d\n",
		upP50.Seconds(), downP50.Seconds(), len(ups))
}

// stepLines keeps the "✓ step (time)" lines of up's output.
func stepLines(out string) string {
	var keep []string
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "✓") || strings.HasPrefix(line, "✗") {
			keep = append(keep, "  "+strings.TrimSpace(line))
		}
	}
	return strings.Join(keep, "\n")
}
