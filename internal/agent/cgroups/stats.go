package cgroups

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is what a task's cgroup says of its use: CPU times in seconds, memory in bytes. A
// field the kernel does not report (a controller not mounted) is zero.
type Stats struct {
	// HasCPUTime says whether the group accounts CPU time: a cgroup v1 task group has none when
	// cpuacct is not mounted with cpu, as task groups join only the cpu and memory hierarchies.
	HasCPUTime       bool
	CPUUserSecs      float64
	CPUSystemSecs    float64
	CPUPeriods       int64
	CPUThrottled     int64
	CPUThrottledSecs float64
	MemTotalBytes    int64 // usage, page cache included
	MemRSSBytes      int64 // anonymous memory
	MemFileBytes     int64 // page cache
	MemLimitBytes    int64 // 0 when unlimited
}

// userHZ is the unit of cpuacct.stat: USER_HZ, 100 on every Linux architecture Go supports.
const userHZ = 100

// unlimitedV1 is the smallest memory.limit_in_bytes taken as no limit: the kernel reports
// "unlimited" as the largest page-aligned int64.
const unlimitedV1 = 1 << 62

// Stats reads the group's accounting. It returns an error wrapping fs.ErrNotExist when the
// group's directories are gone.
func (g *Group) Stats() (Stats, error) {
	if g == nil {
		return Stats{}, fmt.Errorf("cgroup: no group: %w", fs.ErrNotExist)
	}
	return statsFrom(g.Version, g.read)
}

// read returns file from whichever of the group's directories has it.
func (g *Group) read(file string) ([]byte, error) {
	var last error = fs.ErrNotExist
	for _, d := range g.Dirs {
		b, err := os.ReadFile(filepath.Join(d, file))
		if err == nil {
			return b, nil
		}
		last = err
	}
	return nil, fmt.Errorf("cgroup: %s: %w", file, last)
}

// statsFrom parses the accounting files read returns, for cgroup version v. The memory usage
// file must be there; the others add what they have.
func statsFrom(v int, read func(file string) ([]byte, error)) (Stats, error) {
	if v == 2 {
		return statsV2(read)
	}
	return statsV1(read)
}

func statsV1(read func(string) ([]byte, error)) (Stats, error) {
	var s Stats
	usage, err := read("memory.usage_in_bytes")
	if err != nil {
		return s, err
	}
	if s.MemTotalBytes, err = parseInt(usage); err != nil {
		return s, fmt.Errorf("cgroup: memory.usage_in_bytes: %w", err)
	}
	if b, err := read("memory.limit_in_bytes"); err == nil {
		if n, err := parseInt(b); err == nil && n < unlimitedV1 {
			s.MemLimitBytes = n
		}
	}
	if b, err := read("memory.stat"); err == nil {
		s.MemRSSBytes = firstField(b, "total_rss", "rss")
		s.MemFileBytes = firstField(b, "total_cache", "cache")
	}
	if b, err := read("cpuacct.stat"); err == nil {
		s.CPUUserSecs = float64(firstField(b, "user")) / userHZ
		s.CPUSystemSecs = float64(firstField(b, "system")) / userHZ
		s.HasCPUTime = true
	}
	if b, err := read("cpu.stat"); err == nil {
		s.CPUPeriods = firstField(b, "nr_periods")
		s.CPUThrottled = firstField(b, "nr_throttled")
		s.CPUThrottledSecs = float64(firstField(b, "throttled_time")) / 1e9
	}
	return s, nil
}

func statsV2(read func(string) ([]byte, error)) (Stats, error) {
	var s Stats
	cur, err := read("memory.current")
	if err != nil {
		return s, err
	}
	if s.MemTotalBytes, err = parseInt(cur); err != nil {
		return s, fmt.Errorf("cgroup: memory.current: %w", err)
	}
	if b, err := read("memory.max"); err == nil {
		if n, err := parseInt(b); err == nil {
			s.MemLimitBytes = n
		}
	}
	if b, err := read("memory.stat"); err == nil {
		s.MemRSSBytes = firstField(b, "anon")
		s.MemFileBytes = firstField(b, "file")
	}
	if b, err := read("cpu.stat"); err == nil {
		s.CPUUserSecs = float64(firstField(b, "user_usec")) / 1e6
		s.CPUSystemSecs = float64(firstField(b, "system_usec")) / 1e6
		s.HasCPUTime = true
		s.CPUPeriods = firstField(b, "nr_periods")
		s.CPUThrottled = firstField(b, "nr_throttled")
		s.CPUThrottledSecs = float64(firstField(b, "throttled_usec")) / 1e6
	}
	return s, nil
}

// parseInt parses a single-number file; "max" (cgroup v2's no limit) is an error.
func parseInt(b []byte) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// firstField returns the value of the first of names present in b's "name value" lines, or 0.
func firstField(b []byte, names ...string) int64 {
	for _, n := range names {
		if v, ok := field(b, n); ok {
			return v
		}
	}
	return 0
}
