package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/pki"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestCLIUnderTLS drives a cluster that serves only https with a token, through a client config
// entry like the one up writes for it (https endpoints, token_file, ca_file): the commands need
// no flags. --ca-file naming another CA makes them fail verification.
func TestCLIUnderTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	const token = "cli-tls-token-0123456789"
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1, Services: true, TLS: true, AuthToken: token})
	c.WaitForServicesLeader(20 * time.Second)

	state := t.TempDir()
	tokenFile := filepath.Join(state, "secure", "token")
	if err := os.MkdirAll(filepath.Dir(tokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := cluster.ClientConfig{Current: "secure", Clusters: map[string]cluster.ClusterContext{"secure": {
		Provider: "local", Masters: c.MasterURLs(), Master: c.LeaderURL(), Services: c.ServicesURLs()[0],
		TokenFile: tokenFile, CAFile: c.CAFile(),
	}}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MARINA_STATE_DIR", state)
	t.Setenv("MARINA_TOKEN", "")
	os.Unsetenv("MARINA_TOKEN")

	def := writeFile(t, "tls.json", []byte(`{"id": "/tls", "cmd": "echo hello-over-tls; exec sleep 3600", "cpus": 0.1, "mem": 16}`))
	run(t, "", "app", "create", "-f", def, "--wait").expect(t, 0, []string{"Created app /tls"}, []string{"succeeded"})
	testutil.WaitFor(t, 20*time.Second, func() error {
		r := run(t, "", "task", "list", "/tls", "--json")
		var list struct {
			Tasks []struct{ ID, State string }
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list.Tasks) != 1 {
			return fmt.Errorf("task list: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		logs := run(t, "", "task", "logs", list.Tasks[0].ID)
		if logs.code != 0 || !strings.Contains(logs.stdout, "hello-over-tls") {
			return fmt.Errorf("task logs: exit %d, stdout %q, stderr %q", logs.code, logs.stdout, logs.stderr)
		}
		return nil
	})

	other, err := pki.NewCA("another cluster", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.pem")
	if err := other.Write(otherFile, otherFile+".key"); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "app", "list", "--ca-file", otherFile); r.code == 0 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("app list with another CA: exit %d, stderr %q", r.code, r.stderr)
	}
}
