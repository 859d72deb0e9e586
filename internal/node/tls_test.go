package node_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestClusterUnderTLS runs three masters and an agent with a token and a cluster CA: etcd
// members, masters, services instances and the agent talk over mutual TLS. An app created
// through a standby services instance (proxied to the leader) launches and runs; clients
// that do not trust the CA, or speak plain HTTP, are refused; only nodes may open an agent
// stream.
func TestClusterUnderTLS(t *testing.T) {
	const token = "tls-test-token-0123456789"
	c := testcluster.New(t, testcluster.Options{Masters: 3, Agents: 1, AuthToken: token, Services: true, TLS: true})
	ctx := testutil.Context(t)
	leader := c.WaitForServicesLeader(20 * time.Second)
	standby := c.Masters()[(leader+1)%3].ServicesURL
	if !strings.HasPrefix(standby, "https://") || !strings.HasPrefix(c.LeaderURL(), "https://") {
		t.Fatalf("URLs %s, %s", standby, c.LeaderURL())
	}

	apps, err := marathon.New(marathon.Config{URLs: []string{standby}, Token: token, TLSConfig: c.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	app := `{"id": "/tls", "cmd": "exec sleep 600", "instances": 2, "cpus": 0.1, "mem": 16}`
	if _, err := apps.CreateAppJSON(ctx, []byte(app)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		tasks, err := apps.Tasks(ctx, "/tls")
		if err != nil {
			return err
		}
		running := 0
		for _, task := range tasks {
			if task.State == "TASK_RUNNING" {
				running++
			}
		}
		if running != 2 {
			return fmt.Errorf("%d of 2 tasks running: %+v", running, tasks)
		}
		return nil
	})

	// A client that does not trust the cluster CA is refused by the handshake.
	untrusting, err := marathon.New(marathon.Config{URLs: []string{standby}, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	_, err = untrusting.Apps(ctx, marathon.AppFilter{})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("a client without the CA: %v, want a certificate verification error", err)
	}

	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: c.ClientTLS()}}
	defer trusting.CloseIdleConnections()
	call := func(hc *http.Client, method, url string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	agentURL := "https://" + c.Agents()[0].Agent.Addr()
	tests := []struct {
		name   string
		client *http.Client
		method string
		url    string
		want   int
	}{
		{"plain HTTP to the master", http.DefaultClient, "GET", strings.Replace(c.LeaderURL(), "https:", "http:", 1) + "/master/state", http.StatusBadRequest},
		{"master state", trusting, "GET", c.LeaderURL() + "/master/state", http.StatusOK},
		{"agent stream without a node certificate", trusting, "POST", c.LeaderURL() + "/api/v1/agent", http.StatusForbidden},
		{"agent state", trusting, "GET", agentURL + "/state", http.StatusOK},
	}
	for _, tt := range tests {
		if code, body := call(tt.client, tt.method, tt.url); code != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, code, tt.want, body)
		}
	}
}
