package cgroups

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestStatsFrom(t *testing.T) {
	tests := []struct {
		name    string
		version int
		files   map[string]string
		want    Stats
		wantErr bool
	}{
		{"v1", 1, map[string]string{
			"memory.usage_in_bytes": "10485760\n",
			"memory.limit_in_bytes": "33554432\n",
			"memory.stat":           "cache 4096\nrss 8192\nmapped_file 0\ntotal_cache 12288\ntotal_rss 16384\n",
			"cpuacct.stat":          "user 250\nsystem 75\n",
			"cpu.stat":              "nr_periods 10\nnr_throttled 3\nthrottled_time 1500000000\n",
		}, Stats{HasCPUTime: true, CPUUserSecs: 2.5, CPUSystemSecs: 0.75, CPUPeriods: 10, CPUThrottled: 3, CPUThrottledSecs: 1.5,
			MemTotalBytes: 10485760, MemRSSBytes: 16384, MemFileBytes: 12288, MemLimitBytes: 33554432}, false},
		{"v1 unlimited, no cpuacct", 1, map[string]string{
			"memory.usage_in_bytes": "4096",
			"memory.limit_in_bytes": "9223372036854771712",
			"memory.stat":           "cache 0\nrss 4096\n",
		}, Stats{MemTotalBytes: 4096, MemRSSBytes: 4096}, false},
		{"v2", 2, map[string]string{
			"memory.current": "2097152\n",
			"memory.max":     "67108864\n",
			"memory.stat":    "anon 1048576\nfile 524288\nkernel 4096\n",
			"cpu.stat":       "usage_usec 3500000\nuser_usec 3000000\nsystem_usec 500000\nnr_periods 7\nnr_throttled 1\nthrottled_usec 250000\n",
		}, Stats{HasCPUTime: true, CPUUserSecs: 3, CPUSystemSecs: 0.5, CPUPeriods: 7, CPUThrottled: 1, CPUThrottledSecs: 0.25,
			MemTotalBytes: 2097152, MemRSSBytes: 1048576, MemFileBytes: 524288, MemLimitBytes: 67108864}, false},
		{"v2 no limit", 2, map[string]string{
			"memory.current": "8192",
			"memory.max":     "max\n",
			"cpu.stat":       "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
		}, Stats{HasCPUTime: true, MemTotalBytes: 8192}, false},
		{"v1 gone", 1, map[string]string{}, Stats{}, true},
		{"v2 gone", 2, map[string]string{"cpu.stat": "user_usec 1\n"}, Stats{}, true},
		{"v2 garbage", 2, map[string]string{"memory.current": "lots"}, Stats{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func(f string) ([]byte, error) {
				s, ok := tt.files[f]
				if !ok {
					return nil, fmt.Errorf("%s: %w", f, fs.ErrNotExist)
				}
				return []byte(s), nil
			}
			got, err := statsFrom(tt.version, read)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want && !tt.wantErr {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatsMissingGroup(t *testing.T) {
	var nilGroup *Group
	if _, err := nilGroup.Stats(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("nil group: err = %v", err)
	}
	g := &Group{Version: 1, Dirs: []string{filepath.Join(t.TempDir(), "gone")}}
	if _, err := g.Stats(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed group: err = %v", err)
	}
}

// TestStatsReal charges a little CPU and memory to a real cgroup, where the host allows.
func TestStatsReal(t *testing.T) {
	m := Detect()
	if !m.Enabled() {
		t.Skip(m.String())
	}
	g, err := m.Create("test-stats-"+filepath.Base(t.TempDir()), Limits{MemoryBytes: 64 << 20, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Destroy(context.Background()) })
	script := ""
	for _, p := range g.Procs() {
		script += "echo $$ > " + p + " && "
	}
	// A shell loop burns CPU in the group; dd's buffer charges it memory.
	cmd := exec.Command("sh", "-c", script+"i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/dev/null bs=4M count=4 2>/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", s)
	if s.HasCPUTime && s.CPUUserSecs+s.CPUSystemSecs <= 0 {
		t.Errorf("no CPU time charged: %+v", s)
	}
	if s.MemTotalBytes <= 0 {
		t.Errorf("no memory charged: %+v", s)
	}
	if s.MemLimitBytes != 64<<20 {
		t.Errorf("limit = %d, want %d", s.MemLimitBytes, 64<<20)
	}
}
