package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	os.Exit(m.Run())
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// marinaBinary builds the marina binary once per run and returns its path.
func marinaBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "marina-bench-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "marina")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/marina").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// getTimes GETs url samples times, one after the other, and returns how long each took (the
// whole body read) and the size of the last body; an answer other than 200 OK fails tb.
func getTimes(tb testing.TB, url string, samples int) (lat []time.Duration, size int) {
	tb.Helper()
	for range samples {
		t0 := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			tb.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("GET %s: %s", url, resp.Status)
		}
		lat = append(lat, time.Since(t0))
		size = int(n)
	}
	return lat, size
}

// serviceEvents subscribes to the events of one type on a services instance's /v2/events and
// returns the data of each, until ctx ends.
func serviceEvents(tb testing.TB, ctx context.Context, base, eventType string) <-chan string {
	tb.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v2/events?event_type="+eventType, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case out <- data:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// percentiles returns the p50 and p99 of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procStats reads a process's resident set size (bytes) and CPU time used so far.
func procStats(pid int) (rss int64, cpu time.Duration, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start at index 2 of the rest.
	rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	cpu = time.Duration(utime+stime) * time.Second / ticksPerSecond
	return rss, cpu, nil
}

// upDownCLI runs `marina up` and `marina down` of one cluster with the marina binary, on a
// state directory of its own, and times them; a cluster left at the end is taken down.
type upDownCLI struct {
	tb          testing.TB
	bin, state  string
	clusterName string
}

func newUpDownCLI(b *testing.B, clusterName string) *upDownCLI {
	u := &upDownCLI{tb: b, bin: marinaBinary(b), state: b.TempDir(), clusterName: clusterName}
	b.Cleanup(func() { _ = exec.Command(u.bin, "down", "--state-dir", u.state, "--name", clusterName).Run() })
	return u
}

// run runs `marina args...` on the cluster and returns its output and how long it took; it
// fails the benchmark when the command fails.
func (u *upDownCLI) run(args ...string) (string, time.Duration) {
	u.tb.Helper()
	var out bytes.Buffer
	cmd := exec.Command(u.bin, append(args, "--state-dir", u.state, "--name", u.clusterName)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		u.tb.Fatalf("marina %s: %v\n%s", args[0], err, out.String())
	}
	return out.String(), d
}

// measure runs `marina up args...` then `marina down` on every iteration of b, logs each up's
// steps, reports the medians as up-s and down-s and returns them with the iterations' count.
func (u *upDownCLI) measure(b *testing.B, args ...string) (up, down time.Duration, n int) {
	var ups, downs []time.Duration
	for b.Loop() {
		out, up := u.run(args...)
		_, down := u.run("down")
		ups, downs = append(ups, up), append(downs, down)
		b.Logf("up %.2fs, down %.2fs; steps:\n%s", up.Seconds(), down.Seconds(), stepLines(out))
	}
	up, _ = percentiles(ups)
	down, _ = percentiles(downs)
	b.ReportMetric(up.Seconds(), "up-s")
	b.ReportMetric(down.Seconds(), "down-s")
	return up, down, len(ups)
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
