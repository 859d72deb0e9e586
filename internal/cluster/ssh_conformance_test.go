package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/clustertest"
	"github.com/marina-dcos/marina/internal/cluster/sshtest"
)

// sshHostSettings are the ssh provider's settings for hosts: masters on the first ones, agents on
// the rest, host keys checked against the hosts' known_hosts file.
func sshHostSettings(h *sshtest.Hosts, masters int, bin string) map[string]string {
	return map[string]string{
		"masters":       strings.Join(h.IPs[:masters], ","),
		"agents":        strings.Join(h.IPs[masters:], ","),
		"user":          "root",
		"identity_file": h.IdentityFile,
		"known_hosts":   h.KnownHostsFile,
		"binary":        bin,
	}
}

// TestSSHConformance runs the provider conformance suite against the ssh provider, with a 1+1
// cluster on two sshd containers, then checks that Destroy left the hosts clean. It logs in as
// a user who is not root: every command runs through sudo.
func TestSSHConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster on sshd containers")
	}
	hosts := sshtest.Start(t, 2)
	bin := buildMarina(t)
	settings := sshHostSettings(hosts, 1, bin)
	settings["user"] = sshtest.Ops
	p, err := cluster.NewSSH(settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	clustertest.Run(t, p, cluster.Spec{Name: "conformance", Masters: 1, Agents: cluster.UniformAgents(1)}, t.TempDir())
	assertSSHHostsClean(t, hosts)
}

// assertSSHHostsClean checks that every host runs nothing but its sshd (no node, no task) and
// keeps no file of a cluster.
func assertSSHHostsClean(t *testing.T, hosts *sshtest.Hosts) {
	t.Helper()
	for i := range hosts.IPs {
		assertSSHHostClean(t, hosts, i)
	}
}

// assertSSHHostClean checks that host i runs nothing but its sshd and keeps no file of a
// cluster.
func assertSSHHostClean(t *testing.T, hosts *sshtest.Hosts, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ps, err := hosts.Processes(ctx, i)
	if err != nil {
		t.Fatalf("host %d: %v", i+1, err)
	}
	for _, p := range ps {
		if _, cmd, _ := strings.Cut(p, ": "); !strings.HasPrefix(cmd, "sshd") && !strings.HasPrefix(cmd, "/usr/sbin/sshd") {
			t.Errorf("host %d still runs %s", i+1, p)
		}
	}
	ls, err := hosts.Exec(ctx, i, "ls", "-A", "/var/lib")
	if err != nil {
		t.Fatalf("host %d: %v", i+1, err)
	}
	if strings.TrimSpace(ls) != "" {
		t.Errorf("host %d keeps files under /var/lib: %s", i+1, ls)
	}
}
