package cluster_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/sshtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestSSHFailures checks what goes wrong on real hosts: unknown and changed host keys are
// refused unless insecure_ignore_host_key, a remote directory marina did not make is neither
// used nor removed, and an up that fails midway rolls back, leaving the hosts clean.
func TestSSHFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs sshd containers")
	}
	hosts := sshtest.Start(t, 2)
	bin := buildMarina(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := cluster.Spec{Name: "keys", Masters: 1, Agents: cluster.UniformAgents(1)}

	known, err := os.ReadFile(hosts.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(known)), "\n")
	// The second host's key recorded for the first host's address.
	swapped := strings.Replace(lines[1], hosts.IPs[1], hosts.IPs[0], 1)
	for _, tc := range []struct {
		name     string
		known    string
		insecure bool
		wantErr  string
	}{
		{name: "unknown", known: lines[1] + "\n", wantErr: "host key unknown"},
		{name: "changed", known: swapped + "\n" + lines[1] + "\n", wantErr: "HOST KEY MISMATCH"},
		{name: "insecure", known: "", insecure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings := sshHostSettings(hosts, 1, bin)
			settings["known_hosts"] = filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(settings["known_hosts"], []byte(tc.known), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.insecure {
				settings["insecure_ignore_host_key"] = "true"
			}
			p, c := plannedSSH(t, settings, spec)
			err := p.Preflight(ctx, c)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Preflight: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Preflight: %v, want %q", err, tc.wantErr)
			}
		})
	}

	// No identity file and no default key: the key comes from an ssh-agent.
	t.Run("ssh-agent", func(t *testing.T) {
		t.Setenv("HOME", t.TempDir())
		keyPEM, err := os.ReadFile(hosts.IdentityFile)
		if err != nil {
			t.Fatal(err)
		}
		key, err := ssh.ParseRawPrivateKey(keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		keyring := agent.NewKeyring()
		if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(t.TempDir(), "agent.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer conn.Close()
					_ = agent.ServeAgent(keyring, conn)
				}()
			}
		}()
		t.Setenv("SSH_AUTH_SOCK", sock)
		settings := sshHostSettings(hosts, 1, bin)
		delete(settings, "identity_file")
		p, c := plannedSSH(t, settings, spec)
		if err := p.Preflight(ctx, c); err != nil {
			t.Fatalf("Preflight with the key in an ssh-agent: %v", err)
		}
	})

	// A dir setting naming a directory marina did not make: Provision refuses it and Destroy
	// leaves it alone.
	if _, err := hosts.Exec(ctx, 0, "sh", "-c", "mkdir -p /var/lib/other && echo keep > /var/lib/other/data"); err != nil {
		t.Fatal(err)
	}
	settings := sshHostSettings(hosts, 1, bin)
	settings["dir"] = "/var/lib/other"
	p, c := plannedSSH(t, settings, spec)
	if err := p.Provision(ctx, c); err == nil || !strings.Contains(err.Error(), "was not made by marina") {
		t.Errorf("Provision into a foreign directory: %v", err)
	}
	if err := p.Destroy(ctx, c); err != nil {
		t.Errorf("Destroy: %v", err)
	}
	if out, err := hosts.Exec(ctx, 0, "cat", "/var/lib/other/data"); err != nil || out != "keep\n" {
		t.Errorf("the foreign directory after Destroy: %q %v", out, err)
	}
	if _, err := hosts.Exec(ctx, 0, "rm", "-r", "/var/lib/other"); err != nil {
		t.Fatal(err)
	}

	// An up cut short by its timeout rolls back: nothing stays on the hosts.
	state := t.TempDir()
	var yaml strings.Builder
	yaml.WriteString("name: rollback\nmasters: 1\nagents: 1\nprovider:\n  name: ssh\n  settings:\n")
	for k, v := range sshHostSettings(hosts, 1, bin) {
		yaml.WriteString("    " + k + ": \"" + v + "\"\n")
	}
	specFile := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(specFile, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := marina(t, ctx, bin, "up", "-f", specFile, "--state-dir", state, "--timeout", "1s")
	if code == 0 {
		t.Fatalf("up with a 1s timeout succeeded:\n%s", out)
	}
	t.Logf("up cut short:\n%s%s", out, errOut)
	if !strings.Contains(out+errOut, "roll back") {
		t.Errorf("no rollback reported:\n%s%s", out, errOut)
	}
	assertSSHHostsClean(t, hosts)
	if _, err := os.Stat(filepath.Join(state, "rollback")); !os.IsNotExist(err) {
		t.Errorf("state dir remains after the rollback: %v", err)
	}
}

// plannedSSH returns an ssh provider with settings, closed when the test ends, and a cluster
// of spec it planned.
func plannedSSH(t *testing.T, settings map[string]string, spec cluster.Spec) (*cluster.SSH, *cluster.Cluster) {
	t.Helper()
	p, err := cluster.NewSSH(settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := &cluster.Cluster{Name: spec.Name, Spec: spec, Dir: t.TempDir()}
	if err := p.Plan(c); err != nil {
		t.Fatal(err)
	}
	return p, c
}
