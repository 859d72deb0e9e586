package marathon_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func newClient(t *testing.T, urls ...string) *marathon.Client {
	t.Helper()
	c, err := marathon.New(marathon.Config{URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deadURL returns the URL of a port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, urls := range [][]string{nil, {"127.0.0.1:8080"}, {"ftp://x"}, {"http://"}} {
		if _, err := marathon.New(marathon.Config{URLs: urls}); err == nil {
			t.Errorf("New(%q) succeeded", urls)
		}
	}
}

func TestFailoverToNextURL(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/leader", 200, []byte(`{"leader":"10.0.0.1:8080"}`))
	srv.Reply("POST", "/v2/apps/web/restart", 200, []byte(`{"deploymentId":"d1","version":"v"}`))
	c := newClient(t, deadURL(t), srv.URL)
	ctx := context.Background()
	for range 2 { // the second call starts with the instance that answered
		got, err := c.Leader(ctx)
		if err != nil || got != "10.0.0.1:8080" {
			t.Fatalf("Leader = %q, %v", got, err)
		}
	}
	// A change fails over too when the connection could not be made.
	if res, err := c.RestartApp(ctx, "/web", false); err != nil || res.DeploymentID != "d1" {
		t.Fatalf("RestartApp = %+v, %v", res, err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}
}

func TestAllInstancesDown(t *testing.T) {
	c := newClient(t, deadURL(t), deadURL(t))
	_, err := c.Apps(context.Background(), marathon.AppFilter{})
	if err == nil || !strings.Contains(err.Error(), "no services instance answered") {
		t.Fatalf("err = %v", err)
	}
}

func TestChangeIsNotResentAfterABrokenAnswer(t *testing.T) {
	broken := marathontest.New(t)
	broken.Handle("DELETE", "/v2/apps/web", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // the change may have happened: the client must not send it again
		}
	})
	other := marathontest.New(t)
	other.Reply("DELETE", "/v2/apps/web", 200, []byte(`{"deploymentId":"d","version":"v"}`))
	c := newClient(t, broken.URL, other.URL)
	if _, err := c.DeleteApp(context.Background(), "/web", false); err == nil {
		t.Fatal("DeleteApp succeeded")
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the change was sent to the next instance too (%d requests)", n)
	}
}

func TestToken(t *testing.T) {
	srv := marathontest.New(t)
	srv.Token = "s3cret"
	srv.Reply("GET", "/v2/leader", 200, []byte(`{"leader":"a:1"}`))
	_, err := newClient(t, srv.URL).Leader(context.Background())
	if !errors.Is(err, marathon.ErrUnauthorized) {
		t.Fatalf("without token: %v", err)
	}
	c, err := marathon.New(marathon.Config{URLs: []string{srv.URL}, Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Leader(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		is      error
		message string
		details []api.ErrorDetail
		deps    int
	}{
		{"not found", 404, `{"message":"App '/web' does not exist"}`, marathon.ErrNotFound, "App '/web' does not exist", nil, 0},
		{"locked", 409, `{"message":"App is locked by one or more deployments. Override with the option '?force=true'.","deployments":[{"id":"97c136bf"}]}`,
			marathon.ErrConflict, "App is locked by one or more deployments. Override with the option '?force=true'.", nil, 1},
		{"invalid", 422, `{"message":"Object is not valid","details":[{"path":"/upgradeStrategy/minimumHealthCapacity","errors":["is greater than 1"]},{"path":"/id","errors":["must not be empty","bad"]}]}`,
			marathon.ErrInvalid, "Object is not valid", []api.ErrorDetail{
				{Path: "/upgradeStrategy/minimumHealthCapacity", Errors: []string{"is greater than 1"}},
				{Path: "/id", Errors: []string{"must not be empty", "bad"}},
			}, 0},
		{"bad json", 400, `{"message":"Invalid JSON","details":[{"path":"/id","errors":["error.expected.jsstring"]}]}`,
			marathon.ErrInvalid, "Invalid JSON", []api.ErrorDetail{{Path: "/id", Errors: []string{"error.expected.jsstring"}}}, 0},
		{"loose detail", 400, `{"message":"x","details":[{"error":"boom"}]}`, marathon.ErrInvalid, "x", []api.ErrorDetail{{Path: "/", Errors: []string{"boom"}}}, 0},
		{"plain text", 503, "no leader\n", marathon.ErrUnavailable, "no leader", nil, 0},
		{"forbidden", 403, `{"message":"Not Authorized to perform this action!"}`, marathon.ErrUnauthorized, "Not Authorized to perform this action!", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := marathontest.New(t)
			srv.Reply("PUT", "/v2/apps/web", tc.status, []byte(tc.body))
			_, err := newClient(t, srv.URL).ScaleApp(context.Background(), "/web", 3, false)
			var ae *marathon.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, not an *APIError", err)
			}
			if !errors.Is(err, tc.is) || ae.Status != tc.status || ae.Message != tc.message || len(ae.Deployments) != tc.deps {
				t.Errorf("got %+v (%v)", ae, err)
			}
			if tc.details != nil {
				b1, _ := json.Marshal(ae.Details)
				b2, _ := json.Marshal(tc.details)
				if string(b1) != string(b2) {
					t.Errorf("details = %s, want %s", b1, b2)
				}
			}
			if marathon.IsNotFound(err) != (tc.status == 404) || marathon.IsConflict(err) != (tc.status == 409) {
				t.Errorf("predicates disagree with status %d", tc.status)
			}
		})
	}
}

func TestResponseSizeLimit(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/apps", 200, []byte(`{"apps":[`+strings.Repeat(" ", 2000)+`]}`))
	c, err := marathon.New(marathon.Config{URLs: []string{srv.URL}, MaxResponseBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apps(context.Background(), marathon.AppFilter{}); err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestWithResponseBodyKeepsTheAnswer(t *testing.T) {
	srv := marathontest.New(t)
	body := marathontest.Example(t, "app_list.json")
	srv.Reply("GET", "/v2/apps", 200, body)
	var raw json.RawMessage
	apps, err := newClient(t, srv.URL).WithResponseBody(&raw).Apps(context.Background(), marathon.AppFilter{})
	if err != nil || len(apps) != 1 {
		t.Fatalf("Apps = %v, %v", apps, err)
	}
	if string(raw) != string(body) {
		t.Errorf("raw body differs from the answer")
	}
}
