package services

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestServerLifecycle starts an instance with no master to talk to: it leads, answers what it
// can, and Close ends every goroutine it started.
func TestServerLifecycle(t *testing.T) {
	dir := t.TempDir()
	co, err := coord.Start(context.Background(), coord.Config{
		Name:      "m0",
		DataDir:   filepath.Join(dir, "etcd"),
		ClientURL: fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
		PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
		TickMs:    50, ElectionMs: 500,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { co.Close() })
	s, err := New(Config{
		Listen:  "127.0.0.1:0",
		Masters: []string{fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t))}, // nobody there
		Etcd:    co.Client,
		Logger:  testutil.Logger(t, "services"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !s.IsLeader() {
			return fmt.Errorf("not leading")
		}
		return nil
	})
	get := func(path string) (int, http.Header, map[string]any) {
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, resp.Header, m
	}
	code, h, body := get("/v2/apps")
	if code != http.StatusOK || h.Get(headerLeader) != s.URL() || body["apps"] == nil {
		t.Errorf("GET /v2/apps: %d %v %v", code, h, body)
	}
	if code, _, body := get("/v2/leader"); code != http.StatusOK || "http://"+body["leader"].(string) != s.URL() {
		t.Errorf("GET /v2/leader: %d %v", code, body)
	}
	if code, _, _ := get("/metrics"); code != http.StatusOK {
		t.Errorf("GET /metrics: %d", code)
	}
	// Marathon's JSON metrics, for a client that asks for JSON.
	req, _ := http.NewRequest("GET", s.URL()+"/metrics", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Counters   map[string]struct{ Count int64 }
		Gauges     map[string]struct{ Value float64 }
		Histograms map[string]struct{ Count int64 }
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.Gauges["marina_services_leader"].Value != 1 || len(doc.Counters) == 0 || doc.Histograms["marina_services_http_request_duration_seconds.200.apps"].Count == 0 {
		t.Errorf("JSON metrics (%v): %+v", err, doc)
	}
	if code, _, body := get("/v2/nothing"); code != http.StatusNotFound || body["message"] == nil {
		t.Errorf("GET /v2/nothing: %d %v", code, body)
	}

	s.Close()
	s.Close() // idempotent
	// The etcd client keeps goroutines of its own (lease keep-alives); none may run this package's code.
	testutil.WaitFor(t, 10*time.Second, func() error {
		if left := ownGoroutines(); len(left) > 0 {
			return fmt.Errorf("%d goroutines still run services code:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		return nil
	})
}

// TestProxyWithoutLeader answers 503 when no instance leads and 508 on loops.
func TestProxyWithoutLeader(t *testing.T) {
	s := &Server{url: "http://127.0.0.1:1", cfg: Config{Now: time.Now}, log: testutil.Logger(t, "services")}
	s.proxy = newProxy(s)
	for _, tc := range []struct {
		via  string
		want int
	}{{"", http.StatusServiceUnavailable}, {"http://127.0.0.1:1", http.StatusLoopDetected}} {
		req, _ := http.NewRequest("GET", "/v2/apps", nil)
		if tc.via != "" {
			req.Header.Set(headerVia, tc.via)
		}
		rec := newRecorder()
		s.proxy.ServeHTTP(rec, req)
		if rec.code != tc.want {
			t.Errorf("via %q: %d, want %d", tc.via, rec.code, tc.want)
		}
	}
}

// ownGoroutines returns the stacks of goroutines running this package's code, tests excepted.
func ownGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "marina/internal/services.") && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return out
}

type recorder struct {
	h    http.Header
	code int
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }
