package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

func f64(v float64) *float64 { return &v }
func u32(v uint32) *uint32   { return &v }

// fast returns check with fast timings: no delay, 20ms interval, no grace period.
func fast(c mesos.HealthCheck, failures uint32) mesos.HealthCheck {
	c.DelaySeconds, c.IntervalSeconds, c.TimeoutSeconds = f64(0), f64(0.02), f64(1)
	c.GracePeriodSeconds, c.ConsecutiveFailures = f64(0), u32(failures)
	return c
}

// collect runs check until it asks for a kill or n results arrive or 5s pass.
func collect(t *testing.T, check mesos.HealthCheck, target Target, n int) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		out []Result
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, check, target, func(r Result) {
			mu.Lock()
			defer mu.Unlock()
			out = append(out, r)
			if len(out) >= n {
				cancel()
			}
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return out
}

func port(t *testing.T, rawURL string) uint32 {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return uint32(p)
}

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	hp, tp := port(t, srv.URL), port(t, tlsSrv.URL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	lp := uint32(ln.Addr().(*net.TCPAddr).Port)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cp := uint32(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()

	httpCheck := func(scheme string, p uint32, path string, statuses ...uint32) mesos.HealthCheck {
		return mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Scheme: scheme, Port: p, Path: path, Statuses: statuses}}
	}
	cmd := func(s string) mesos.HealthCheck {
		return mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &s}}
	}
	dir := t.TempDir()
	target := Target{Dir: dir, Env: []string{"PATH=/usr/bin:/bin", "WANT=yes"}}

	tests := []struct {
		name  string
		check mesos.HealthCheck
		want  []Result // compared without messages
	}{
		{"http ok", httpCheck("", hp, "/ok"), []Result{{Healthy: true}}},
		{"http redirect is healthy", httpCheck("http", hp, "/redirect"), []Result{{Healthy: true}}},
		{"http 404 kills after 2", httpCheck("", hp, "/missing"), []Result{{ConsecutiveFailures: 1}, {ConsecutiveFailures: 2, Kill: true}}},
		{"http statuses list", httpCheck("", hp, "/teapot", 418), []Result{{Healthy: true}}},
		{"http status not in list", httpCheck("", hp, "/ok", 204), []Result{{ConsecutiveFailures: 1}, {ConsecutiveFailures: 2, Kill: true}}},
		{"https self-signed", httpCheck("https", tp, "/"), []Result{{Healthy: true}}},
		{"tcp open", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: lp}}, []Result{{Healthy: true}}},
		{"tcp closed", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: cp}}, []Result{{ConsecutiveFailures: 1}, {ConsecutiveFailures: 2, Kill: true}}},
		{"command env and dir", cmd(`test "$WANT" = yes && test "$PWD" = ` + dir), []Result{{Healthy: true}}},
		{"command fails", cmd("exit 3"), []Result{{ConsecutiveFailures: 1}, {ConsecutiveFailures: 2, Kill: true}}},
		{"invalid check", mesos.HealthCheck{Type: "HTTP"}, []Result{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, fast(tt.check, 2), target, len(tt.want))
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				g := got[i]
				g.Message = ""
				if g != tt.want[i] {
					t.Errorf("result %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
				if !got[i].Healthy && got[i].Message == "" {
					t.Errorf("result %d: unhealthy without a message", i)
				}
			}
		})
	}
}

// TestTransitions checks that only changes are reported, that failures in the grace period
// before a first success are ignored, and that a success resets the failure count.
func TestTransitions(t *testing.T) {
	var mu sync.Mutex
	plan := []int{500, 500, 200, 200, 500, 200, 500, 500, 500}
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code := 500
		if i < len(plan) {
			code = plan[i]
		}
		i++
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	check := fast(mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: port(t, srv.URL)}}, 3)
	check.GracePeriodSeconds = f64(60) // the first two failures are ignored
	got := collect(t, check, Target{}, 10)
	want := []Result{
		{Healthy: true},
		{ConsecutiveFailures: 1},
		{Healthy: true},
		{ConsecutiveFailures: 1},
		{ConsecutiveFailures: 3, Kill: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for k := range got {
		g := got[k]
		g.Message = ""
		if g != want[k] {
			t.Errorf("result %d: got %+v, want %+v", k, got[k], want[k])
		}
	}
}

// TestResumed checks that a check resumed for a recovered task has no grace period left.
func TestResumed(t *testing.T) {
	fail := "exit 1"
	check := fast(mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &fail}}, 2)
	check.GracePeriodSeconds = f64(60)
	target := Target{Env: []string{"PATH=/usr/bin:/bin"}, Resumed: true}
	got := collect(t, check, target, 2)
	want := []Result{{ConsecutiveFailures: 1}, {ConsecutiveFailures: 2, Kill: true}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range got {
		if g := got[i]; g.Healthy != want[i].Healthy || g.ConsecutiveFailures != want[i].ConsecutiveFailures || g.Kill != want[i].Kill {
			t.Errorf("result %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCommandTimeout(t *testing.T) {
	s := "sleep 30"
	check := fast(mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &s}}, 1)
	check.TimeoutSeconds = f64(0.1)
	start := time.Now()
	got := collect(t, check, Target{Env: []string{"PATH=/usr/bin:/bin"}}, 1)
	if len(got) != 1 || !got[0].Kill {
		t.Fatalf("got %+v, want one kill", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timed-out check took %v", d)
	}
}

func TestDefaults(t *testing.T) {
	p := paramsOf(&mesos.HealthCheck{})
	want := params{delay: 15 * time.Second, interval: 10 * time.Second, timeout: 20 * time.Second,
		grace: 10 * time.Second, maxFailures: 3}
	if p != want {
		t.Errorf("got %+v, want %+v", p, want)
	}
}

// recordingContainer stands in for a container: it records what it is asked to run.
type recordingContainer struct {
	mu        sync.Mutex
	argv, env []string
	code      int
	out       string
}

func (r *recordingContainer) Exec(_ context.Context, argv, env []string) (int, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.argv, r.env = argv, env
	return r.code, []byte(r.out), nil
}

func (r *recordingContainer) CheckHost(uint32) string { return "" }

// TestContainerCommand checks that COMMAND checks of a target with a Container run in it (argv as
// Mesos builds it, the check's own environment only) and that its exit code decides health.
func TestContainerCommand(t *testing.T) {
	sh := "test -f /ready"
	tests := []struct {
		name     string
		command  mesos.CommandInfo
		code     int
		want     Result
		wantArgv []string
	}{
		{"shell", mesos.CommandInfo{Value: &sh, Environment: &mesos.Environment{Variables: []mesos.EnvVar{{Name: "A", Value: "1"}}}},
			0, Result{Healthy: true}, []string{"/bin/sh", "-c", sh}},
		{"argv drops arguments[0]", mesos.CommandInfo{Shell: new(false), Value: new("/bin/check"), Arguments: []string{"check", "--fast"}},
			0, Result{Healthy: true}, []string{"/bin/check", "--fast"}},
		{"non-zero exit fails", mesos.CommandInfo{Value: &sh}, 2, Result{ConsecutiveFailures: 1, Kill: true}, []string{"/bin/sh", "-c", sh}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &recordingContainer{code: tt.code, out: "some output"}
			target := Target{Container: ex, Dir: "/host/dir", Env: []string{"HOST_ONLY=1"}}
			got := collect(t, fast(mesos.HealthCheck{Type: "COMMAND", Command: &tt.command}, 1), target, 1)
			if len(got) != 1 {
				t.Fatalf("got %+v", got)
			}
			msg := got[0].Message
			got[0].Message = ""
			if got[0] != tt.want {
				t.Errorf("got %+v, want %+v", got[0], tt.want)
			}
			if tt.code != 0 && !strings.Contains(msg, "exit status 2: some output") {
				t.Errorf("message %q lacks the exit status and output", msg)
			}
			ex.mu.Lock()
			defer ex.mu.Unlock()
			if !slices.Equal(ex.argv, tt.wantArgv) {
				t.Errorf("argv %q, want %q", ex.argv, tt.wantArgv)
			}
			var wantEnv []string
			if tt.command.Environment != nil {
				wantEnv = []string{"A=1"}
			}
			if !slices.Equal(ex.env, wantEnv) {
				t.Errorf("env %q, want %q (the check's own only)", ex.env, wantEnv)
			}
		})
	}
}
