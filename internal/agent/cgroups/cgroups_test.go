package cgroups

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"v1 hybrid", "9:name=systemd:/\n4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/\n",
			map[string]string{"name=systemd": "/", "memory": "/a/b", "cpu": "/c", "cpuacct": "/c", "": "/"}},
		{"v2", "0::/user.slice/agent.service\n", map[string]string{"": "/user.slice/agent.service"}},
		{"garbage", "nonsense\n", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProcCgroup([]byte(tt.in))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestFindV1Mount(t *testing.T) {
	info := strings.Join([]string{
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
		"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:1 - cgroup cgroup rw,cpu,cpuacct",
		"32 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
		"34 30 0:31 /docker/x /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
	}, "\n")
	ms := parseMountinfo([]byte(info))
	tests := []struct {
		ctl, point, root string
		ok               bool
	}{
		{"cpu", "/sys/fs/cgroup/cpu,cpuacct", "/", true},
		{"memory", "/sys/fs/cgroup/memory", "/docker/x", true},
		{"cpuset", "/sys/fs/cgroup/cpuset", "/", true},
		{"pids", "", "", false},
	}
	for _, tt := range tests {
		m, ok := findV1Mount(ms, tt.ctl)
		if ok != tt.ok || m.point != tt.point || m.root != tt.root {
			t.Errorf("%s: got %+v %v", tt.ctl, m, ok)
		}
	}
}

func TestField(t *testing.T) {
	in := []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	if n, ok := field(in, "oom_kill"); !ok || n != 2 {
		t.Fatalf("oom_kill = %d %v", n, ok)
	}
	if _, ok := field(in, "missing"); ok {
		t.Fatal("missing field found")
	}
}

func TestDisabledManager(t *testing.T) {
	m := Disabled("no cgroups here")
	if m.Enabled() || !strings.Contains(m.String(), "no cgroups here") {
		t.Fatalf("disabled manager: %v", m)
	}
	if _, err := m.Create("x", Limits{}); err == nil {
		t.Fatal("create on a disabled manager succeeded")
	}
	var g *Group
	if g.OOMKilled() || g.Procs() != nil || g.Destroy(context.Background()) != nil {
		t.Fatal("nil group must be inert")
	}
}

// TestOOMKill runs a process over its memory limit in a real cgroup, where the host allows.
func TestOOMKill(t *testing.T) {
	m := Detect()
	if !m.Enabled() {
		t.Skip(m.String())
	}
	t.Log(m)
	g, err := m.Create("test-"+filepath.Base(t.TempDir()), Limits{MemoryBytes: 16 << 20, CPUs: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Destroy(context.Background()); err != nil {
			t.Error(err)
		}
		for _, d := range g.Dirs {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("%s left behind", d)
			}
		}
	})
	if g.OOMKilled() {
		t.Fatal("fresh group reports an OOM kill")
	}
	script := ""
	for _, p := range g.Procs() {
		script += "echo $$ > " + p + " && "
	}
	cmd := exec.Command("sh", "-c", script+"exec dd if=/dev/zero of=/dev/null bs=64M count=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("memory hog survived its limit: %s", out)
	}
	if !g.OOMKilled() {
		t.Fatalf("no OOM kill recorded (err %v, out %s)", err, out)
	}
	if !slices.Contains(g.Dirs, filepath.Dir(g.Procs()[0])) {
		t.Fatal("procs outside group dirs")
	}
}

func TestPrune(t *testing.T) {
	m := Detect()
	if !m.Enabled() {
		t.Skip(m.String())
	}
	id := "prune-" + filepath.Base(t.TempDir())
	keep, err := m.Create(id+"-keep", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keep.Destroy(context.Background()) })
	drop, err := m.Create(id+"-drop", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop.Destroy(context.Background()) })
	if n := m.Prune(time.Hour, func(string) bool { return false }); n != 0 {
		t.Fatalf("pruned %d young cgroups", n)
	}
	n := m.Prune(0, func(name string) bool { return !strings.HasPrefix(name, id) || name == id+"-keep" })
	if n != len(drop.Dirs) {
		t.Fatalf("pruned %d, want %d", n, len(drop.Dirs))
	}
	for _, d := range drop.Dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s not pruned", d)
		}
	}
	for _, d := range keep.Dirs {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s pruned", d)
		}
	}
}
