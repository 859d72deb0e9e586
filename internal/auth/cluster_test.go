package auth_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/auth"
	"github.com/marina-dcos/marina/internal/testcluster"
)

// TestCluster checks the middleware on every role of a real cluster with a token: API clients
// need the token, browsers are sent to the login page, and a login on one listener opens the
// others (the session is derived from the cluster token) for reads and same-origin changes.
func TestCluster(t *testing.T) {
	const tok = "cluster-token-0123456789"
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1, AuthToken: tok, Services: true})
	c.WaitForServicesLeader(15 * time.Second)
	master, services := c.LeaderURL(), c.ServicesLeaderURL()
	agentURL := "http://" + c.Agents()[0].Agent.Addr()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	do := func(method, u string, hdr map[string]string, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// Log in on the master through its form.
	resp, page := do("GET", master+"/login", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(page, "Marina master") {
		t.Fatalf("login page: %s\n%s", resp.Status, page)
	}
	form := url.Values{"token": {tok}, "next": {"/master/state"}}.Encode()
	resp, _ = do("POST", master+"/login", map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": master,
	}, form)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %s, cookies %v", resp.Status, resp.Cookies())
	}
	cookie := resp.Cookies()[0]
	session := auth.CookieName + "=" + cookie.Value
	bearer := "Bearer " + tok
	app := `{"id": "/auth-test", "cmd": "sleep 1000", "instances": 0, "cpus": 0.1, "mem": 16}`

	tests := []struct {
		name   string
		method string
		url    string
		hdr    map[string]string
		body   string
		want   int
	}{
		{"master, no token", "GET", master + "/master/state", nil, "", 401},
		{"master, token", "GET", master + "/master/state", map[string]string{"Authorization": bearer}, "", 200},
		{"master, wrong token", "GET", master + "/master/state", map[string]string{"Authorization": "Bearer x"}, "", 401},
		{"master, health", "GET", master + "/health", nil, "", 200},
		{"master, browser", "GET", master + "/", map[string]string{"Accept": "text/html"}, "", 303},
		{"master, session", "GET", master + "/master/state", map[string]string{"Cookie": session}, "", 200},
		{"services, no token", "GET", services + "/v2/apps", nil, "", 401},
		{"services, ping", "GET", services + "/ping", nil, "", 200},
		{"services, token", "GET", services + "/v2/apps", map[string]string{"Authorization": bearer}, "", 200},
		{"services, browser", "GET", services + "/ui/", map[string]string{"Accept": "text/html"}, "", 303},
		{"services, session", "GET", services + "/v2/apps", map[string]string{"Cookie": session}, "", 200},
		{"services, session change without origin", "POST", services + "/v2/apps", map[string]string{"Cookie": session, "Content-Type": "application/json"}, app, 403},
		{"services, session change from elsewhere", "POST", services + "/v2/apps", map[string]string{"Cookie": session, "Content-Type": "application/json", "Origin": "http://evil.test"}, app, 403},
		{"services, session change same-origin", "POST", services + "/v2/apps", map[string]string{"Cookie": session, "Content-Type": "application/json", "Origin": services}, app, 201},
		{"agent, no token", "GET", agentURL + "/state", nil, "", 401},
		{"agent, token", "GET", agentURL + "/state", map[string]string{"Authorization": bearer}, "", 200},
		{"agent, session", "GET", agentURL + "/state", map[string]string{"Cookie": session}, "", 200},
		{"agent, health", "GET", agentURL + "/health", nil, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(tt.method, tt.url, tt.hdr, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s: %s, want %d: %s", tt.method, tt.url, resp.Status, tt.want, body)
			}
			switch tt.want {
			case 401:
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("a 401 without WWW-Authenticate")
				}
			case 303:
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, auth.LoginPath+"?next=") {
					t.Errorf("redirected to %q", loc)
				}
			}
		})
	}
	if resp, body := do("GET", services+"/v2/apps", nil, ""); !strings.Contains(body, `"message"`) {
		t.Errorf("services' 401 is not Marathon's JSON: %s %s", resp.Status, body)
	}
}
