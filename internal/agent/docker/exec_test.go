package docker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/health"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// execer launches a container that idles and returns it as a health.Container.
func execer(t *testing.T, mod func(*mesos.TaskInfo)) (health.Container, string) {
	t.Helper()
	ex := newTestExecutor(t, "agent-1")
	spec := newSpec(t, "agent-1", "exec sleep 3600", nil, mod)
	c := launch(t, ex, spec)
	e, ok := c.(health.Container)
	if !ok {
		t.Fatalf("%T is not a health.Container", c)
	}
	return e, spec.Sandbox
}

func TestExec(t *testing.T) {
	engine(t)
	e, _ := execer(t, func(ti *mesos.TaskInfo) {
		ti.Command.Environment = &mesos.Environment{Variables: []mesos.EnvVar{{Name: "TASKVAR", Value: "v"}}}
	})
	tests := []struct {
		name     string
		argv     []string
		env      []string
		wantCode int
		wantOut  []string
	}{
		{"exit code and both streams", []string{"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3"}, nil, 3, []string{"to-out", "to-err"}},
		{"task and check environment, sandbox as working directory",
			[]string{"/bin/sh", "-c", `test "$TASKVAR" = v && test "$CHECK" = yes && test "$PWD" = /mnt/mesos/sandbox && echo ok`},
			[]string{"CHECK=yes"}, 0, []string{"ok"}},
		{"argv without a shell", []string{"echo", "a b", "c"}, nil, 0, []string{"a b c"}},
		{"output keeps its tail", []string{"/bin/sh", "-c", "yes x | head -c 100000; echo; echo the-end"}, nil, 0, []string{"the-end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, err := e.Exec(ctxFor(t), tt.argv, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (output %q)", code, tt.wantCode, out)
			}
			for _, w := range tt.wantOut {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
			if len(out) > maxExecOutput {
				t.Errorf("kept %d bytes of output, more than %d", len(out), maxExecOutput)
			}
		})
	}
}

// TestExecTimeout checks that a command outliving its context is killed with its children.
func TestExecTimeout(t *testing.T) {
	engine(t)
	e, _ := execer(t, nil)
	ctx, cancel := context.WithTimeout(ctxFor(t), 500*time.Millisecond)
	defer cancel()
	_, _, err := e.Exec(ctx, []string{"/bin/sh", "-c", "sleep 77; echo never"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		_, out, err := e.Exec(ctxFor(t), []string{"ps"}, nil)
		if err == nil && bytes.Contains(out, []byte("sleep 77")) {
			err = errors.New("the timed-out command still runs:\n" + string(out))
		}
		return err
	})
}

// TestCommandHealthCheckInContainer runs a COMMAND health check through the container: it
// sees the container's filesystem (the sandbox at /mnt/mesos/sandbox), its exit code decides
// health, and its output is in the message and the log.
func TestCommandHealthCheckInContainer(t *testing.T) {
	engine(t)
	e, sandbox := execer(t, nil)
	cmd := `test -f /mnt/mesos/sandbox/flag || { echo flag-missing; exit 4; }`
	check := mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &cmd},
		DelaySeconds: new(0.0), IntervalSeconds: new(0.05), TimeoutSeconds: new(10.0),
		GracePeriodSeconds: new(0.0), ConsecutiveFailures: new(uint32(1000))}
	var logs testutil.Buffer
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	results := make(chan health.Result, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		health.Run(ctx, check, health.Target{Container: e, Log: slog.New(slog.NewTextHandler(&logs, nil))},
			func(r health.Result) { results <- r })
	}()
	defer func() { cancel(); <-done }()
	next := func() health.Result {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("no health result")
			return health.Result{}
		}
	}
	r := next()
	if r.Healthy || !strings.Contains(r.Message, "exit status 4: flag-missing") {
		t.Fatalf("first result %+v, want unhealthy with the exit status and output", r)
	}
	if !strings.Contains(logs.String(), "flag-missing") {
		t.Errorf("log %q lacks the check's output", logs.String())
	}
	if err := os.WriteFile(filepath.Join(sandbox, "flag"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := next(); !r.Healthy {
		t.Fatalf("after the flag: %+v, want healthy", r)
	}
}

// TestHTTPCheckPorts runs HTTP health checks of a bridged container by its published host port
// (as Marathon gives it, reached on the agent's loopback) and by its container port (as Mesos
// frameworks give it, reached at the container's address), and checks that a port that is
// neither fails.
func TestHTTPCheckPorts(t *testing.T) {
	engine(t)
	hostPort := uint32(testutil.FreePort(t))
	ex := newTestExecutor(t, "agent-1")
	spec := newSpec(t, "agent-1", `echo up > index.html; exec httpd -f -p 8080`, []uint64{uint64(hostPort)}, func(ti *mesos.TaskInfo) {
		ti.Container.Docker.PortMappings = []mesos.PortMapping{{HostPort: hostPort, ContainerPort: 8080}}
	})
	c := launch(t, ex, spec).(health.Container)
	ip := c.CheckHost(8080)
	if net.ParseIP(ip) == nil || c.CheckHost(hostPort) != "" {
		t.Fatalf("check hosts: container port %q, host port %q; want the container's address and the default",
			ip, c.CheckHost(hostPort))
	}
	tests := []struct {
		name    string
		port    uint32
		healthy bool
	}{
		{"host port", hostPort, true},
		{"container port", 8080, true},
		{"neither", 8081, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: tt.port, Path: "/index.html"},
				DelaySeconds: new(0.0), IntervalSeconds: new(0.1), TimeoutSeconds: new(2.0),
				GracePeriodSeconds: new(10.0), ConsecutiveFailures: new(uint32(1))}
			if !tt.healthy {
				check.GracePeriodSeconds = new(0.0)
			}
			ctx, cancel := context.WithTimeout(ctxFor(t), 20*time.Second)
			defer cancel()
			var got *health.Result
			health.Run(ctx, check, health.Target{Container: c}, func(r health.Result) {
				got = &r
				cancel()
			})
			if got == nil || got.Healthy != tt.healthy {
				t.Fatalf("got %+v, want healthy %v", got, tt.healthy)
			}
		})
	}
}

// TestInContainer checks the guard of a timed-out exec's kill: only a pid in the container's
// cgroup counts as the container's.
func TestInContainer(t *testing.T) {
	engine(t)
	e, _ := execer(t, nil)
	h := e.(*handle)
	h.mu.Lock()
	pid, id := h.pid, h.id
	h.mu.Unlock()
	tests := []struct {
		name string
		pid  int
		id   string
		want bool
	}{
		{"the container's init", pid, id, true},
		{"another container's id", pid, strings.Repeat("0", 64), false},
		{"a process outside", os.Getpid(), id, false},
		{"no id", pid, "", false},
		{"no such process", 1 << 30, id, false},
	}
	for _, tt := range tests {
		if got := inContainer(tt.pid, tt.id); got != tt.want {
			t.Errorf("%s: inContainer(%d, %q) = %v, want %v", tt.name, tt.pid, tt.id, got, tt.want)
		}
	}
}
