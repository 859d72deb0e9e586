package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bad-input tests run small local clusters on subnets of their own, apart from
// TestUpFailoverDown's (127.0.77), the local conformance test's (127.0.79), BenchmarkUpDown's
// (127.0.78) and a developer's default cluster.
const (
	takenSubnet     = "127.0.82"
	interruptSubnet = "127.0.83"
	brokenSubnet    = "127.0.84"
	failingSubnet   = "127.0.85"
	noWaitSubnet    = "127.0.86"
)

// localSpec writes a spec file for a local cluster on subnet, with extra provider settings.
func localSpec(t *testing.T, subnet string, settings ...string) string {
	t.Helper()
	s := "provider:\n  name: local\n  settings:\n    subnet: " + subnet + "\n"
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		s += "    " + k + ": " + v + "\n"
	}
	f := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// downAtCleanup takes the cluster down when the test ends, whatever happened.
func downAtCleanup(t *testing.T, bin string, common []string) {
	t.Cleanup(func() {
		if out, errOut, code := marina(t, context.Background(), bin, append([]string{"down"}, common...)...); code != 0 {
			t.Errorf("cleanup: marina down: exit %d\n%s%s", code, out, errOut)
		}
	})
}

// listening reports whether something accepts connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// assertGone checks that nothing of cluster name remains: no state dir, no client config entry,
// no listener on its masters' and agents' first addresses.
func assertGone(t *testing.T, state, name, subnet string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(state, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the state dir remains: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(state, "config.json")); err == nil && strings.Contains(string(b), `"`+name+`"`) {
		t.Errorf("the client config still names the cluster:\n%s", b)
	}
	for _, addr := range []string{subnet + ".2:5050", subnet + ".2:8080", subnet + ".11:5051"} {
		if listening(addr) {
			t.Errorf("something still listens on %s", addr)
		}
	}
}

// TestUpRefusesATakenPort: a port a node needs, taken by another program, stops up at its first
// step, before anything is made.
func TestUpRefusesATakenPort(t *testing.T) {
	bin := buildMarina(t)
	taken, err := net.Listen("tcp", takenSubnet+".2:5050")
	if err != nil {
		t.Skipf("cannot take %s.2:5050 for the test: %v", takenSubnet, err)
	}
	defer taken.Close()
	state := t.TempDir()
	common := []string{"--state-dir", state, "--name", "taken"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, errOut, code := marina(t, ctx, bin, append([]string{"up", "-f", localSpec(t, takenSubnet), "--masters", "1", "--agents", "1"}, common...)...)
	if code == 0 {
		downAtCleanup(t, bin, common)
		t.Fatalf("up with %s.2:5050 taken succeeded:\n%s", takenSubnet, out)
	}
	for _, w := range []string{"✗ check addresses and ports", takenSubnet + ".2:5050", "address already in use"} {
		if !strings.Contains(out+errOut, w) {
			t.Errorf("up's output lacks %q:\n%s%s", w, out, errOut)
		}
	}
	if strings.Contains(out, "✓ prepare state dir") || strings.Contains(out, "start masters") {
		t.Errorf("up went on past the check:\n%s", out)
	}
	t.Logf("up with a port taken:\n%s%s", out, errOut)
	taken.Close()
	assertGone(t, state, "taken", takenSubnet)
}

// TestUpInterruptedRollsBack interrupts up (SIGINT, as Ctrl-C does) once its masters run, and
// checks that it says so, stops them and removes everything it made.
func TestUpInterruptedRollsBack(t *testing.T) {
	bin := buildMarina(t)
	state := t.TempDir()
	common := []string{"--state-dir", state, "--name", "interrupted"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	downAtCleanup(t, bin, common) // should there be anything left
	cmd := exec.CommandContext(ctx, bin, append([]string{"up", "-f", localSpec(t, interruptSubnet), "--masters", "3", "--agents", "1"}, common...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	interrupted := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if !interrupted && strings.HasPrefix(line, "✓ start masters") {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			interrupted = true
		}
	}
	err = cmd.Wait()
	if !interrupted {
		t.Fatalf("up never reported its masters started (%v):\n%s%s", err, out.String(), errOut.String())
	}
	if err == nil && !strings.Contains(out.String(), "is up") {
		t.Fatalf("up ended well without finishing:\n%s", out.String())
	}
	if strings.Contains(out.String(), "is up") {
		t.Skipf("up finished before the interrupt reached it:\n%s", out.String())
	}
	all := out.String() + errOut.String()
	t.Logf("interrupted up:\n%s", all)
	for _, w := range []string{"interrupted", "✓ roll back"} {
		if !strings.Contains(all, w) {
			t.Errorf("up's output lacks %q:\n%s", w, all)
		}
	}
	assertGone(t, state, "interrupted", interruptSubnet)
	for _, ip := range []string{".3", ".4"} {
		if listening(interruptSubnet + ip + ":5050") {
			t.Errorf("master at %s%s still listens", interruptSubnet, ip)
		}
	}
}

// TestUpOfABrokenCluster: up of a cluster whose master died says so and offers down, which
// cleans it up.
func TestUpOfABrokenCluster(t *testing.T) {
	bin := buildMarina(t)
	state := t.TempDir()
	common := []string{"--state-dir", state, "--name", "broken"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	downAtCleanup(t, bin, common)
	up := append([]string{"up", "-f", localSpec(t, brokenSubnet), "--masters", "1", "--agents", "1"}, common...)
	marinaOK(t, ctx, bin, up...)
	st, _ := status(t, ctx, bin, common...)
	if len(st.Masters) != 1 || st.Masters[0].PID == 0 {
		t.Fatalf("status: %+v", st)
	}
	if err := syscall.Kill(st.Masters[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := marina(t, ctx, bin, up...)
	if code == 0 {
		t.Fatalf("up of a cluster whose master is dead: exit 0\n%s", out)
	}
	t.Logf("up of a broken cluster:\n%s%s", out, errOut)
	for _, w := range []string{`cluster "broken" exists but is not healthy`, "master-1", "marina down --name broken"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("up's error lacks %q:\n%s%s", w, out, errOut)
		}
	}
	marinaOK(t, ctx, bin, append([]string{"down"}, common...)...)
	assertGone(t, state, "broken", brokenSubnet)
}

// TestUpFailingNode runs masters that exit at once: up names the step that failed, shows the
// node's log, and rolls back; with --retain it leaves everything for a post mortem, and down
// removes it.
func TestUpFailingNode(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "marina")
	script := "#!/bin/sh\necho \"cannot start: disk on fire ($1)\" >&2\nexit 3\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	real := buildMarina(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := localSpec(t, failingSubnet, "binary="+bin)
	for _, retain := range []bool{false, true} {
		t.Run(fmt.Sprintf("retain=%v", retain), func(t *testing.T) {
			state := t.TempDir()
			common := []string{"--state-dir", state, "--name", "failing"}
			downAtCleanup(t, real, common)
			args := append([]string{"up", "-f", spec, "--masters", "1", "--agents", "1", "--retain=" + fmt.Sprint(retain)}, common...)
			out, errOut, code := marina(t, ctx, real, args...)
			all := out + errOut
			t.Logf("up with failing masters:\n%s", all)
			if code == 0 {
				t.Fatalf("up with masters that exit: exit 0\n%s", all)
			}
			for _, w := range []string{"✗ ", "failed", "master-1", "cannot start: disk on fire (master)"} {
				if !strings.Contains(all, w) {
					t.Errorf("up's output lacks %q:\n%s", w, all)
				}
			}
			_, err := os.Stat(filepath.Join(state, "failing", "logs", "master-1.log"))
			if !retain {
				if err == nil {
					t.Error("the failed cluster's state remains without --retain")
				}
				assertGone(t, state, "failing", failingSubnet)
				return
			}
			if err != nil || !strings.Contains(all, "--retain") {
				t.Fatalf("--retain: the log is gone (%v) or up does not say it kept everything:\n%s", err, all)
			}
			if out, errOut, code := marina(t, ctx, real, append([]string{"down"}, common...)...); code != 0 {
				t.Fatalf("marina down of the retained cluster: exit %d\n%s%s", code, out, errOut)
			}
			assertGone(t, state, "failing", failingSubnet)
		})
	}
}

// TestClusterCommandsExitCodes: up, down and status exit 2 on bad flags or arguments, 1 when
// what they are asked fails, as the API commands do (docs/cli.md).
func TestClusterCommandsExitCodes(t *testing.T) {
	bin := buildMarina(t)
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"up", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"down", "extra"}, 2, `unknown command "extra"`},
		{[]string{"status", "--json", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"up", "--masters", "2", "--dry-run"}, 1, "want 1, 3 or 5"},
		{[]string{"up", "-f", filepath.Join("testdata", "invalid-types.yaml"), "--dry-run"}, 1, "invalid-types.yaml:3: masters"},
		{[]string{"status", "--name", "none"}, 1, `no such cluster: "none"`},
		{[]string{"down", "--name", "none"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := marina(t, ctx, bin, append(tt.args, "--state-dir", state)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

// TestUpWithoutWait: up --wait=false returns once the nodes run, says it did not wait, and the
// cluster becomes healthy by itself.
func TestUpWithoutWait(t *testing.T) {
	bin := buildMarina(t)
	state := t.TempDir()
	common := []string{"--state-dir", state, "--name", "nowait"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	downAtCleanup(t, bin, common)
	out, errOut, code := marina(t, ctx, bin, append([]string{"up", "-f", localSpec(t, noWaitSubnet), "--masters", "3", "--agents", "1", "--wait=false"}, common...)...)
	if code != 0 {
		t.Fatalf("up --wait=false: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "wait for") || !strings.Contains(out, "not waited for") {
		t.Errorf("up --wait=false waited, or does not say it did not:\n%s", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, code := status(t, ctx, bin, common...)
		if code == 0 && st.Healthy && st.Leader != "" && len(st.Agents) == 1 && st.Agents[0].Registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy 30s after up --wait=false: exit %d, %+v", code, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
