package master

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/testutil"
)

// TestAgentProxyRelay sends calls through a leading master's proxy handler to an HTTP server
// standing in for an agent's answers that a real agent does not give (oversized, refused
// credentials, HTML, a redirect), and checks what reaches that server: the master's token, and
// none of the caller's headers.
func TestAgentProxyRelay(t *testing.T) {
	big := strings.Repeat("x", maxProxyAnswer+1)
	type seen struct{ auth, cookie, query string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.URL.RawQuery}
		switch r.URL.Query().Get("path") {
		case "big":
			_, _ = w.Write([]byte(big))
		case "refused":
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<script>alert(1)</script>"))
		case "redirect":
			http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":"ok","offset":0}`))
		}
	}))
	t.Cleanup(srv.Close)
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // closes the proxy's idle connections
	m := &Master{cfg: Config{AuthToken: "cluster-token"}, log: testutil.Logger(t, "master"), ctx: ctx, scheme: "http"}
	m.st = &leaderState{agents: map[string]*agent{"a1": {id: "a1", pid: "slave(1)@" + net.JoinHostPort(host, port)}}}
	m.leading.Store(true)
	mux := http.NewServeMux()
	mux.Handle("/agent/{id}/{call...}", m.wrap(m.agentProxy()))

	for _, tc := range []struct {
		path, query string
		status      int
		ctype, body string
	}{
		{"files/read", "path=ok&offset=7&length=9999999&extra=1", http.StatusOK, "application/json", `"data":"ok"`},
		{"files/read", "path=big", http.StatusBadGateway, "", "exceeds"},
		{"files/browse", "path=refused", http.StatusBadGateway, "", "refused the master's credentials"},
		{"files/browse", "path=html", http.StatusOK, "text/plain; charset=utf-8", "<script>"},
		{"files/browse", "path=redirect", http.StatusBadGateway, "", "answered with a redirect"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/agent/a1/"+tc.path+"?"+tc.query, nil)
			req.Header.Set("Cookie", "marina_session=browser")
			req.Header.Set("Authorization", "Bearer someone-else")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("%d %.80q, want %d with %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			if tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if loc := rec.Header().Get("Location"); loc != "" {
				t.Errorf("relayed a redirect to %s", loc)
			}
			s := <-got
			if s.auth != "Bearer cluster-token" || s.cookie != "" {
				t.Errorf("the agent got Authorization %q and Cookie %q", s.auth, s.cookie)
			}
			q, err := url.ParseQuery(s.query)
			if err != nil || q.Has("extra") || (tc.path == "files/read" && q.Get("length") != "1048576") {
				t.Errorf("the agent got the query %q: unchecked parameters, or a length past the bound", s.query)
			}
		})
	}
}

// FuzzProxyCall: any call and query a browser sends either fails or yields an agent call whose
// parameters are the checked ones: a sandbox path without .., NUL or backslash, and a bounded
// read.
func FuzzProxyCall(f *testing.F) {
	for _, seed := range [][2]string{
		{"state", ""}, {"files/browse", "path=/a/b"}, {"files/read", "path=a&offset=-1&length=0"},
		{"files/read", "path=%2E%2E/x&offset=5"}, {"files/read.json", "path=a%00b&length=99999999999"},
		{"files/download", "path=a"}, {"files/browse", "path=a/./b/../c"}, {"state.json", "path=;"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, call, rawQuery string) {
		in, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		path, out, err := proxyCall(call, in)
		if err != nil {
			return
		}
		if path != "state" && path != "files/browse" && path != "files/read" {
			t.Fatalf("call %q became agent path %q", call, path)
		}
		for k := range out {
			if k != "path" && k != "offset" && k != "length" {
				t.Fatalf("parameter %q passed on", k)
			}
		}
		if p := out.Get("path"); path != "state" {
			if p == "" || len(p) > maxProxyPath || strings.ContainsAny(p, "\x00\\") || slices.Contains(strings.Split(p, "/"), "..") {
				t.Fatalf("path %q passed on", p)
			}
		}
		if l := out.Get("length"); l != "" {
			if n, err := strconv.Atoi(l); err != nil || n < 0 || n > maxProxyRead {
				t.Fatalf("length %q passed on", l)
			}
		}
	})
}
