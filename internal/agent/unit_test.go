package agent

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

func TestCheckID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"web.1", true},
		{"a..b", true},
		{"M-S0", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a\\b", false},
		{"a\x00b", false},
		{string(make([]byte, 256)), false},
	}
	for _, tt := range tests {
		err := checkID(tt.id)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadID)) {
			t.Errorf("checkID(%q) = %v", tt.id, err)
		}
	}
}

func TestReplayUpdates(t *testing.T) {
	dir := t.TempDir()
	a := &Agent{sync: fsutil.NewSyncer(nil, nil)}
	st := func(state mesos.TaskState, uuid byte) *mesos.TaskStatus {
		return &mesos.TaskStatus{State: state, UUID: []byte{uuid}}
	}
	for _, rec := range []updateRecord{
		{Status: st(mesos.TaskRunning, 1)},
		{Status: st(mesos.TaskKilling, 2)},
		{Ack: []byte{1}},
		{Ack: []byte{9}}, // unknown: ignored
		{Status: st(mesos.TaskKilled, 3)},
	} {
		if _, err := a.appendUpdate(dir, rec); err != nil {
			t.Fatal(err)
		}
	}
	// A torn last line, as a crash mid-append leaves.
	f, err := os.OpenFile(filepath.Join(dir, updatesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"ack":"Aw`)
	f.Close()
	pending, latest, err := replayUpdates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].State != mesos.TaskKilling || pending[1].State != mesos.TaskKilled {
		t.Fatalf("pending = %+v", pending)
	}
	if latest == nil || latest.State != mesos.TaskKilled {
		t.Fatalf("latest = %+v", latest)
	}
	if p, l, err := replayUpdates(t.TempDir()); p != nil || l != nil || err != nil {
		t.Fatalf("empty replay = %v %v %v", p, l, err)
	}
}

func TestTerminalStatus(t *testing.T) {
	tests := []struct {
		name   string
		exit   executor.Exit
		killed bool
		state  mesos.TaskState
		reason string
		msg    string
	}{
		{"success", executor.Exit{}, false, mesos.TaskFinished, "", "Command exited with status 0"},
		{"failure", executor.Exit{Code: 2}, false, mesos.TaskFailed, "", "Command exited with status 2"},
		{"signal", executor.Exit{Code: -1, Signal: syscall.SIGSEGV}, false, mesos.TaskFailed, "", "Command terminated with signal Segmentation fault"},
		{"killed", executor.Exit{Code: -1, Signal: syscall.SIGTERM}, true, mesos.TaskKilled, "", "Command terminated with signal Terminated"},
		{"killed success", executor.Exit{}, true, mesos.TaskKilled, "", "Command exited with status 0"},
		{"oom", executor.Exit{Code: -1, Signal: syscall.SIGKILL, OOM: true}, false, mesos.TaskFailed, mesos.ReasonContainerLimitation, "Memory limit exceeded"},
		{"lost", executor.Exit{Code: -1, Lost: true}, false, mesos.TaskFailed, mesos.ReasonExecutorTerminated, "Executor terminated"},
		{"launch", executor.Exit{LaunchError: "no such file"}, false, mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "Failed to launch task: no such file"},
	}
	for _, tt := range tests {
		st := terminalStatus(tt.exit, tt.killed)
		if st.State != tt.state || st.Reason != tt.reason || st.Message != tt.msg {
			t.Errorf("%s: got %s %s %q", tt.name, st.State, st.Reason, st.Message)
		}
	}
}

func TestKillGrace(t *testing.T) {
	p := func(d time.Duration) *mesos.KillPolicy {
		return &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(d)}}
	}
	tests := []struct {
		name     string
		policies []*mesos.KillPolicy
		want     time.Duration
	}{
		{"default", nil, DefaultKillGrace},
		{"kill wins", []*mesos.KillPolicy{p(time.Second), p(time.Minute)}, time.Second},
		{"task policy", []*mesos.KillPolicy{nil, p(time.Minute)}, time.Minute},
		{"no period", []*mesos.KillPolicy{{}, nil}, DefaultKillGrace},
		{"zero", []*mesos.KillPolicy{p(0)}, 0},
	}
	for _, tt := range tests {
		if got := killGrace(tt.policies...); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAdvertiseAddr(t *testing.T) {
	tests := []struct{ cfg, listen, host, want string }{
		{"", "127.0.1.2:5051", "h", "127.0.1.2:5051"},
		{"", "0.0.0.0:5051", "node1", "node1:5051"},
		{"", "[::]:5051", "node1", "node1:5051"},
		{"10.0.0.5:5051", "0.0.0.0:5051", "node1", "10.0.0.5:5051"},
	}
	for _, tt := range tests {
		if got := advertiseAddr(tt.cfg, tt.listen, tt.host); got != tt.want {
			t.Errorf("advertiseAddr(%q, %q, %q) = %q, want %q", tt.cfg, tt.listen, tt.host, got, tt.want)
		}
	}
}

func TestDetectedResources(t *testing.T) {
	tests := []struct {
		cpus              int
		mem, disk         float64
		wantMem, wantDisk float64
	}{
		{4, 8192, 100000, 7168, 100000 - 5120},
		{1, 1500, 2000, 1024, 1024},
	}
	for _, tt := range tests {
		r := detected(tt.cpus, tt.mem, tt.disk)
		if r.Scalar(mesos.ResourceCPUs) != float64(tt.cpus) || r.Scalar(mesos.ResourceMem) != tt.wantMem ||
			r.Scalar(mesos.ResourceDisk) != tt.wantDisk || r.String() == "" {
			t.Errorf("detected(%d, %v, %v) = %s", tt.cpus, tt.mem, tt.disk, r)
		}
		if ports := r.RangesOf(mesos.ResourcePorts); len(ports) != 1 || ports[0] != (mesos.Range{Begin: 31000, End: 32000}) {
			t.Errorf("ports = %v", ports)
		}
	}
	if res, err := detectResources(t.TempDir()); err != nil || res.Scalar(mesos.ResourceMem) < 1024 {
		t.Fatalf("detectResources = %v, %v", res, err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no work dir", Config{Masters: []string{"http://m"}}},
		{"no masters", Config{WorkDir: t.TempDir()}},
		{"bad resources", Config{WorkDir: t.TempDir(), Masters: []string{"http://m"},
			Resources: mesos.Resources{{Name: "cpus", Type: mesos.Scalar}}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
	a, err := New(Config{WorkDir: "rel", Masters: []string{"http://m"}})
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(a.cfg.WorkDir) || a.cfg.Listen != DefaultListen || a.cfg.Timeout != DefaultTimeout || a.ID() != "" {
		t.Fatalf("defaults = %+v", a.cfg)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close before start: %v", err)
	}
}

func TestGCSandboxes(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Config{WorkDir: dir, Masters: []string{"http://m"}})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-8 * 24 * time.Hour)
	mk := func(fw, task string, mtime time.Time) string {
		p := filepath.Join(dir, "sandboxes", fw, task)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := mk("fw1", "old", old)
	fresh := mk("fw1", "fresh", time.Now())
	tracked := mk("fw2", "tracked", old)
	lonely := mk("fw3", "old", old)
	a.tasks[taskKey{"fw2", "tracked"}] = &task{}
	a.gcSandboxes(time.Now().Add(-sandboxMaxAge))
	for p, want := range map[string]bool{gone: false, fresh: true, tracked: true, lonely: false, filepath.Dir(lonely): false, filepath.Dir(fresh): true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", p, err == nil, want)
		}
	}
}

func TestDialFromListenAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	remote := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			remote <- err.Error()
			return
		}
		remote <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.Close()
	}()
	dial := dialFrom(&net.TCPAddr{IP: net.ParseIP("127.0.1.7"), Port: 5051})
	c, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := <-remote; got != "127.0.1.7" {
		t.Fatalf("master saw the agent at %s", got)
	}
}

func TestContainerizers(t *testing.T) {
	tests := []struct {
		names         []string
		process, dock bool
		explicit      bool
		wantErr       bool
	}{
		{nil, true, true, false, false},
		{[]string{"process"}, true, false, false, false},
		{[]string{"mesos", "docker"}, true, true, true, false},
		{[]string{"docker"}, false, true, true, false},
		{[]string{"rkt"}, false, false, false, true},
	}
	for _, tt := range tests {
		want, explicit, err := containerizers(tt.names)
		if (err != nil) != tt.wantErr {
			t.Errorf("containerizers(%v) error = %v, want error %v", tt.names, err, tt.wantErr)
			continue
		}
		if want["process"] != tt.process || want["docker"] != tt.dock || explicit != tt.explicit {
			t.Errorf("containerizers(%v) = %v, explicit %v", tt.names, want, explicit)
		}
	}
}
