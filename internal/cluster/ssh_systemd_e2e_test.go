package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/sshtest"
)

// TestSSHSystemdUpKillDown stands a 1+1 cluster up with `marina up --provider ssh` on two hosts
// whose PID 1 is systemd, logged in as a user who is not root: each node must run as an
// enabled, active systemd unit; a task runs; each node killed with SIGKILL comes back under
// systemd (Restart=on-failure) with the cluster healthy again, the agent's task untouched
// (KillMode=process); a second `up` finds it running; after a power cut of both hosts, systemd
// starts the nodes at boot and the cluster runs its task again; `down` must stop, disable and remove the units and leave no process
// and no file of the cluster.
func TestSSHSystemdUpKillDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster on systemd containers")
	}
	hosts := sshtest.Start(t, 2, sshtest.Systemd())
	bin := buildMarina(t)
	state := t.TempDir()
	const name = "ssh-systemd"
	common := []string{"--state-dir", state, "--name", name}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	settings := sshHostSettings(hosts, 1, bin)
	settings["user"] = sshtest.Ops
	args := []string{"up", "--provider", "ssh", "--masters", "1", "--agents", "1"}
	for k, v := range settings {
		args = append(args, "--setting", k+"="+v)
	}
	downAtCleanup(t, bin, common)
	start := time.Now()
	out := marinaOK(t, ctx, bin, append(args, common...)...)
	t.Logf("marina up --provider ssh (1 master, 1 agent, systemd) took %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	waitSSHSystemdHealthy(t, ctx, bin, common)

	c, err := cluster.LoadCluster(state, name)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*cluster.Node{c.Masters()[0], c.Agents()[0]}
	units := make([]string, len(nodes))
	for i, n := range nodes {
		units[i] = "marina-" + name + "-" + n.Name + ".service"
		checkSystemdUnit(t, ctx, hosts, i, units[i])
		// systemd appends the node's output to its log file, where `up` finds it.
		if _, err := hosts.Exec(ctx, i, "test", "-s", n.LogFile); err != nil {
			t.Errorf("%s: empty log file: %v", n.Name, err)
		}
	}

	// A task on the agent, which must outlive its agent's restarts.
	cli := []string{"--state-dir", state, "--cluster", name}
	app := filepath.Join(t.TempDir(), "sleeper.json")
	if err := os.WriteFile(app, []byte(`{"id": "/sleeper", "cmd": "exec sleep 600", "instances": 1, "cpus": 0.1, "mem": 16}`), 0o600); err != nil {
		t.Fatal(err)
	}
	marinaOK(t, ctx, bin, append([]string{"app", "create", "-f", app, "--wait"}, cli...)...)
	task := sshSystemdTask(t, ctx, bin, cli)
	before := sshProcessesMatching(t, ctx, hosts, 1, "sleep 600")
	if len(before) != 1 {
		t.Fatalf("task %s: host 2 runs %v, want one sleep", task, before)
	}

	for i, unit := range units {
		pid := systemdMainPID(t, ctx, hosts, i, unit)
		if _, err := hosts.Exec(ctx, i, "kill", "-KILL", pid); err != nil {
			t.Fatal(err)
		}
		restarted := waitSystemdActive(t, ctx, hosts, i, unit, pid)
		t.Logf("%s: killed pid %s, systemd restarted it as pid %s", unit, pid, restarted)
		waitSSHSystemdHealthy(t, ctx, bin, common)
	}
	if after := sshProcessesMatching(t, ctx, hosts, 1, "sleep 600"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the agent's task did not survive its agent's restart: %v, then %v", before, after)
	}
	if got := sshSystemdTask(t, ctx, bin, cli); got != task {
		t.Errorf("task %s replaced by %s after its agent's restart", task, got)
	}
	if out, errOut, code := marina(t, ctx, bin, append(args, common...)...); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second up: exit %d\n%s%s", code, out, errOut)
	}

	// A power cut of every host: the enabled units start the nodes at boot.
	for i := range hosts.IPs {
		if err := hosts.Kill(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	for i, unit := range units {
		if err := hosts.Restart(ctx, i); err != nil {
			t.Fatal(err)
		}
		waitSystemdActive(t, ctx, hosts, i, unit, "")
	}
	waitSSHSystemdHealthy(t, ctx, bin, common)
	sshSystemdTask(t, ctx, bin, cli)

	marinaOK(t, ctx, bin, append([]string{"down"}, common...)...)
	for i, unit := range units {
		assertSystemdHostClean(t, ctx, hosts, i, unit)
	}
}

// waitSSHSystemdHealthy waits until status reports the cluster healthy, with a leader and its
// agent registered.
func waitSSHSystemdHealthy(t *testing.T, ctx context.Context, bin string, common []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, code := status(t, ctx, bin, common...)
		if code == 0 && st.Healthy && st.Leader != "" && len(st.Agents) == 1 && st.Agents[0].Registered {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not healthy (exit %d): %+v", code, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkSystemdUnit checks that unit is installed in /etc/systemd/system on host i, enabled,
// active, and restarts its node on failure.
func checkSystemdUnit(t *testing.T, ctx context.Context, hosts *sshtest.Hosts, i int, unit string) {
	t.Helper()
	text, err := hosts.Exec(ctx, i, "cat", "/etc/systemd/system/"+unit)
	if err != nil {
		t.Fatalf("host %d: unit file: %v", i+1, err)
	}
	if !strings.Contains(text, "\nRestart=on-failure\n") {
		t.Errorf("host %d: %s does not restart on failure:\n%s", i+1, unit, text)
	}
	// systemd's default start limit would stop restarting a node that keeps failing.
	if out, err := hosts.Exec(ctx, i, "systemctl", "show", "-p", "StartLimitIntervalUSec", "--value", unit); err != nil || strings.TrimSpace(out) != "0" {
		t.Errorf("host %d: %s start limit interval %q (%v), want 0 (no limit)", i+1, unit, strings.TrimSpace(out), err)
	}
	for _, q := range []struct{ verb, want string }{{"is-active", "active"}, {"is-enabled", "enabled"}} {
		out, err := hosts.Exec(ctx, i, "systemctl", q.verb, unit)
		if got := strings.TrimSpace(out); err != nil || got != q.want {
			t.Errorf("host %d: systemctl %s %s = %q (%v), want %s", i+1, q.verb, unit, got, err, q.want)
		}
	}
}

// systemdMainPID returns the main pid of unit on host i.
func systemdMainPID(t *testing.T, ctx context.Context, hosts *sshtest.Hosts, i int, unit string) string {
	t.Helper()
	out, err := hosts.Exec(ctx, i, "systemctl", "show", "-p", "MainPID", "--value", unit)
	pid := strings.TrimSpace(out)
	if err != nil || pid == "" || pid == "0" {
		t.Fatalf("host %d: main pid of %s: %q %v", i+1, unit, pid, err)
	}
	return pid
}

// waitSystemdActive waits until unit on host i is active with a main pid other than old (any
// pid when old is ""), and returns it.
func waitSystemdActive(t *testing.T, ctx context.Context, hosts *sshtest.Hosts, i int, unit, old string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := hosts.Exec(ctx, i, "systemctl", "show", "-p", "MainPID", "--value", unit)
		pid := strings.TrimSpace(out)
		if err == nil && pid != "0" && pid != "" && pid != old {
			if active, err := hosts.Exec(ctx, i, "systemctl", "is-active", unit); err == nil && strings.TrimSpace(active) == "active" {
				return pid
			}
		}
		if time.Now().After(deadline) {
			st, _ := hosts.Exec(ctx, i, "systemctl", "status", "--no-pager", unit)
			t.Fatalf("host %d: %s not active with a pid other than %q within 30s:\n%s", i+1, unit, old, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sshSystemdTask waits until /sleeper has one running task and returns its ID.
func sshSystemdTask(t *testing.T, ctx context.Context, bin string, cli []string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errOut, code := marina(t, ctx, bin, append([]string{"task", "list", "/sleeper", "--json"}, cli...)...)
		var list struct{ Tasks []api.Task }
		if code == 0 && json.Unmarshal([]byte(out), &list) == nil && len(list.Tasks) == 1 && list.Tasks[0].State == "TASK_RUNNING" {
			return list.Tasks[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running task of /sleeper: exit %d: %s%s", code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sshProcessesMatching lists host i's processes whose command line contains s.
func sshProcessesMatching(t *testing.T, ctx context.Context, hosts *sshtest.Hosts, i int, s string) []string {
	t.Helper()
	ps, err := hosts.Processes(ctx, i)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range ps {
		if strings.Contains(p, s) {
			found = append(found, p)
		}
	}
	return found
}

// assertSystemdHostClean checks that host i keeps neither unit nor any process or file of the
// cluster.
func assertSystemdHostClean(t *testing.T, ctx context.Context, hosts *sshtest.Hosts, i int, unit string) {
	t.Helper()
	if out, err := hosts.Exec(ctx, i, "ls", "-A", "/etc/systemd/system", "/etc/systemd/system/multi-user.target.wants"); err != nil || strings.Contains(out, "marina") {
		t.Errorf("host %d keeps unit files: %s %v", i+1, out, err)
	}
	if out, err := hosts.Exec(ctx, i, "systemctl", "list-units", "--all", "--plain", "--no-legend", "marina-*"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("host %d: systemd still knows units: %q %v", i+1, out, err)
	}
	if out, _ := hosts.Exec(ctx, i, "systemctl", "is-active", unit); strings.TrimSpace(out) == "active" {
		t.Errorf("host %d: %s still active", i+1, unit)
	}
	for _, s := range []string{"/var/lib/marina", "sleep 600"} {
		if ps := sshProcessesMatching(t, ctx, hosts, i, s); len(ps) > 0 {
			t.Errorf("host %d still runs %v", i+1, ps)
		}
	}
	if out, err := hosts.Exec(ctx, i, "ls", "-A", "/var/lib"); err != nil || strings.Contains(out, "marina") {
		t.Errorf("host %d keeps /var/lib/marina: %s %v", i+1, out, err)
	}
	if out, err := hosts.Exec(ctx, i, "sh", "-c", fmt.Sprintf("find /sys/fs/cgroup -name %s 2>/dev/null", unit)); err == nil && strings.TrimSpace(out) != "" {
		t.Errorf("host %d keeps the unit's cgroups: %s", i+1, out)
	}
}
