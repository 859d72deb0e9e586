package master_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestAgentProxy reads a running task's sandbox through the leading master of a real cluster
// whose nodes all require a token, in plain HTTP and under TLS with mutual TLS between nodes:
// the master relays to the agent with its own credentials, and refuses bad calls itself.
func TestAgentProxy(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "tls"}[tls], func(t *testing.T) {
			testAgentProxy(t, tls)
		})
	}
}

func testAgentProxy(t *testing.T, tls bool) {
	const token = "proxy-test-token"
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1, AuthToken: token, Services: true, TLS: tls})
	ctx := testutil.Context(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: c.ClientTLS()}}
	t.Cleanup(client.CloseIdleConnections)
	c.WaitForServicesLeader(15 * time.Second)
	apps, err := marathon.New(marathon.Config{URLs: c.ServicesURLs(), Token: token, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	app := `{"id": "/hello", "cmd": "echo hello from the sandbox; exec sleep 600", "cpus": 0.1, "mem": 32}`
	if _, err := apps.CreateAppJSON(ctx, []byte(app)); err != nil {
		t.Fatal(err)
	}
	var taskID, agentID string
	testutil.WaitFor(t, 20*time.Second, func() error {
		tasks, err := apps.Tasks(ctx, "/hello")
		if err != nil {
			return err
		}
		if len(tasks) != 1 || tasks[0].State != "TASK_RUNNING" {
			return fmt.Errorf("tasks: %+v", tasks)
		}
		taskID, agentID = tasks[0].ID, tasks[0].SlaveID
		return nil
	})

	leader := c.LeaderURL()
	get := func(path string, hdr http.Header) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, leader+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	auth := http.Header{"Authorization": {"Bearer " + token}}
	getJSON := func(path string, v any) {
		t.Helper()
		code, body := get(path, auth)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	agentPath := "/agent/" + url.PathEscape(agentID)

	// The agent's state names the task's sandbox.
	var state struct {
		Frameworks []struct {
			Executors []struct {
				Directory string `json:"directory"`
				Tasks     []struct {
					ID string `json:"id"`
				} `json:"tasks"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	getJSON(agentPath+"/state", &state)
	var dir string
	for _, f := range state.Frameworks {
		for _, ex := range f.Executors {
			for _, tk := range ex.Tasks {
				if tk.ID == taskID {
					dir = ex.Directory
				}
			}
		}
	}
	if dir == "" {
		t.Fatalf("the agent's state has no sandbox for task %s: %+v", taskID, state)
	}

	var files []struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
	}
	getJSON(agentPath+"/files/browse?path="+url.QueryEscape(dir), &files)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimPrefix(f.Path, dir+"/"))
	}
	if !strings.Contains(strings.Join(names, " "), "stdout") {
		t.Fatalf("browse %s: %v, want stdout among them", dir, names)
	}

	const hello = "hello from the sandbox\n"
	stdout := url.QueryEscape(dir + "/stdout")
	var page struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		getJSON(agentPath+"/files/read?offset=0&path="+stdout, &page)
		if page.Data != hello {
			return fmt.Errorf("stdout %q, want %q", page.Data, hello)
		}
		return nil
	})
	getJSON(agentPath+"/files/read?offset=-1&path="+stdout, &page)
	if page.Offset != int64(len(hello)) || page.Data != "" {
		t.Errorf("size read: %+v, want offset %d and no data", page, len(hello))
	}
	getJSON(agentPath+"/files/read?offset=6&length=4&path="+stdout, &page)
	if page.Data != "from" || page.Offset != 6 {
		t.Errorf("ranged read: %+v, want \"from\" at 6", page)
	}

	for _, tc := range []struct {
		name string
		path string
		hdr  http.Header
		want int
		msg  string
	}{
		{"no token", agentPath + "/state", nil, http.StatusUnauthorized, "bearer token"},
		{"a token in the query is not one", agentPath + "/state?access_token=" + token, nil, http.StatusUnauthorized, "bearer token"},
		{"unknown agent", "/agent/nope/state", auth, http.StatusNotFound, "no agent"},
		{"unknown call", agentPath + "/flags", auth, http.StatusNotFound, "no such agent endpoint"},
		{"download is not relayed", agentPath + "/files/download?path=" + stdout, auth, http.StatusNotFound, "no such agent endpoint"},
		{"no path", agentPath + "/files/read", auth, http.StatusBadRequest, "path is required"},
		{"dot-dot", agentPath + "/files/browse?path=" + url.QueryEscape(dir+"/../../.."), auth, http.StatusBadRequest, "must not contain .."},
		{"NUL", agentPath + "/files/browse?path=a%00b", auth, http.StatusBadRequest, "forbidden character"},
		{"long path", agentPath + "/files/browse?path=" + strings.Repeat("a", 5000), auth, http.StatusBadRequest, "longer than"},
		{"bad offset", agentPath + "/files/read?offset=-2&path=" + stdout, auth, http.StatusBadRequest, "bad offset"},
		{"bad length", agentPath + "/files/read?length=x&path=" + stdout, auth, http.StatusBadRequest, "bad length"},
		{"outside the sandboxes: the agent's refusal", agentPath + "/files/browse?path=/etc", auth, http.StatusBadRequest, "outside the sandboxes"},
		{"missing file: the agent's answer", agentPath + "/files/read?offset=0&path=" + url.QueryEscape(dir+"/nope"), auth, http.StatusNotFound, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(tc.path, tc.hdr)
			if code != tc.want || !strings.Contains(string(body), tc.msg) {
				t.Errorf("GET %s: %d %q, want %d with %q", tc.path, code, body, tc.want, tc.msg)
			}
		})
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, leader+agentPath+"/state", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = auth
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}

	// Gone agents answer 502, with the reason.
	c.StopAgent(0)
	code, body := get(agentPath+"/state", auth)
	if code != http.StatusBadGateway || !strings.Contains(string(body), "agent unreachable") {
		t.Errorf("stopped agent: %d %q, want 502", code, body)
	}
}

// TestMastersEndpoint lists the masters and etcd members on the leader and on a standby.
func TestMastersEndpoint(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Masters: 2})
	leader := c.LeaderURL()
	for _, m := range c.Masters() {
		var got struct {
			Self    string `json:"self"`
			Leader  string `json:"leader"`
			Masters []struct {
				URL    string `json:"url"`
				Leader bool   `json:"leader"`
				Self   bool   `json:"self"`
			} `json:"masters"`
			Etcd []struct {
				Name     string   `json:"name"`
				PeerURLs []string `json:"peer_urls"`
				Leader   bool     `json:"leader"`
			} `json:"etcd_members"`
			Errors []string `json:"errors"`
		}
		resp, err := http.Get(m.URL + "/master/masters")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Self != m.URL || got.Leader != leader || len(got.Errors) > 0 {
			t.Errorf("%s: self %q leader %q errors %v, want self %q leader %q", m.URL, got.Self, got.Leader, got.Errors, m.URL, leader)
		}
		if len(got.Masters) != 2 || got.Masters[0].URL != leader || !got.Masters[0].Leader || got.Masters[1].Leader {
			t.Errorf("%s: masters %+v, want the leader %s first, then one standby", m.URL, got.Masters, leader)
		}
		for _, p := range got.Masters {
			if p.Self != (p.URL == m.URL) {
				t.Errorf("%s: %+v marks self wrongly", m.URL, p)
			}
		}
		leaders := 0
		for _, e := range got.Etcd {
			if e.Leader {
				leaders++
			}
		}
		if len(got.Etcd) != 2 || leaders != 1 {
			t.Errorf("%s: etcd members %+v, want 2 with one raft leader", m.URL, got.Etcd)
		}
	}
}
