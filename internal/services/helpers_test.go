package services_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	os.Exit(m.Run())
}

// client calls a services instance's REST API.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

func newClient(t testing.TB, base string) *client {
	return &client{t: t, base: base, http: &http.Client{Timeout: 30 * time.Second}}
}

// do sends a request and returns the status, headers and body. A nil body sends none; a
// string or []byte body is sent as is.
func (c *client) do(method, path string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewReader([]byte(b))
	case []byte:
		r = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, out
}

// json sends a request, checks the status and decodes the answer into out (when not nil).
func (c *client) json(method, path string, body any, want int, out any) http.Header {
	c.t.Helper()
	code, h, b := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return h
}

func (c *client) tasks(appID string) []marathon.Task {
	c.t.Helper()
	var l marathon.TaskList
	c.json("GET", "/v2/apps"+appID+"/tasks", nil, http.StatusOK, &l)
	return l.Tasks
}

// tryTasks is tasks for use inside WaitFor: failures are errors, not fatal.
func (c *client) tryTasks(appID string) ([]marathon.Task, error) {
	req, _ := http.NewRequest("GET", c.base+"/v2/apps"+appID+"/tasks", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET tasks: %d %s", resp.StatusCode, b)
	}
	var l marathon.TaskList
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	return l.Tasks, nil
}

func running(ts []marathon.Task) int {
	n := 0
	for _, t := range ts {
		if t.State == "TASK_RUNNING" {
			n++
		}
	}
	return n
}

// waitRunning waits until the app has exactly n tasks, all RUNNING, and no deployment left.
func waitRunning(t testing.TB, c *client, appID string, n int, timeout time.Duration) []marathon.Task {
	t.Helper()
	var ts []marathon.Task
	testutil.WaitFor(t, timeout, func() error {
		var err error
		if ts, err = c.tryTasks(appID); err != nil {
			return err
		}
		if len(ts) != n || running(ts) != n {
			return fmt.Errorf("%d tasks, %d running; want %d running", len(ts), running(ts), n)
		}
		return nil
	})
	return ts
}

// newServicesCluster starts a cluster with the services role on every master and waits for
// its leader.
func newServicesCluster(t *testing.T, masters, agents int) (*testcluster.Cluster, *client) {
	t.Helper()
	c := testcluster.New(t, testcluster.Options{Masters: masters, Agents: agents, Services: true})
	i := c.WaitForServicesLeader(20 * time.Second)
	return c, newClient(t, c.Masters()[i].ServicesURL)
}

func sleeper(id string, instances int) map[string]any {
	return map[string]any{"id": id, "cmd": "sleep 3600", "cpus": 0.1, "mem": 16, "instances": instances}
}
