package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/sshtest"
)

// TestSSHDownWithAHostDown checks `marina down` of an ssh cluster one of whose hosts does not
// answer: it stops and cleans the other hosts, names the dead host and why, exits non-zero and
// keeps only that host's node in the state file; once the host is back, down cleans it too and
// removes the state.
func TestSSHDownWithAHostDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster on sshd containers")
	}
	hosts := sshtest.Start(t, 3)
	bin := buildMarina(t)
	state := t.TempDir()
	const name = "ssh-down"
	common := []string{"--state-dir", state, "--name", name}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	specFile := sshSpecFile(t, name, 1, 2, sshHostSettings(hosts, 1, bin))
	marinaOK(t, ctx, bin, append([]string{"up", "-f", specFile}, common...)...)
	const dead = 2 // agent-2's host
	if err := hosts.Kill(ctx, dead); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := marina(t, ctx, bin, append([]string{"down"}, common...)...)
	t.Logf("down with host %s dead: exit %d\n%s%s", hosts.IPs[dead], code, out, errOut)
	if code == 0 {
		t.Fatal("down succeeded with a host dead")
	}
	want := []string{"could not stop and clean 1 of 3 hosts", "root@" + hosts.IPs[dead] + ":22 (agent-2): ", "run `marina down --name " + name + "` again"}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("down's error lacks %q:\n%s", w, errOut)
		}
	}
	for i := range dead {
		assertSSHHostClean(t, hosts, i)
	}
	c, err := cluster.LoadCluster(state, name)
	if err != nil {
		t.Fatalf("the state after a partial down: %v", err)
	}
	var left []string
	for _, n := range c.Nodes {
		left = append(left, n.Name)
	}
	if !slices.Equal(left, []string{"agent-2"}) {
		t.Errorf("the state keeps nodes %v, want [agent-2]", left)
	}

	// The host comes back with its files (and none of its processes): down cleans it.
	if err := hosts.Restart(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if _, err := hosts.Exec(ctx, dead, "test", "-d", "/var/lib/marina/"+name); err != nil {
		t.Fatalf("the dead host lost the cluster's files, so down again would prove nothing: %v", err)
	}
	marinaOK(t, ctx, bin, append([]string{"down"}, common...)...)
	assertSSHHostsClean(t, hosts)
	if _, err := os.Stat(filepath.Join(state, name)); !os.IsNotExist(err) {
		t.Errorf("state dir remains after down: %v", err)
	}
}

// sshSpecFile writes a spec file of cluster name with masters and agents on the ssh provider
// with settings, and returns its path.
func sshSpecFile(t *testing.T, name string, masters, agents int, settings map[string]string) string {
	t.Helper()
	var spec strings.Builder
	fmt.Fprintf(&spec, "name: %s\nmasters: %d\nagents: %d\nprovider:\n  name: ssh\n  settings:\n", name, masters, agents)
	for k, v := range settings {
		fmt.Fprintf(&spec, "    %s: %q\n", k, v)
	}
	file := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(file, []byte(spec.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
