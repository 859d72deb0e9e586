package cgroups

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits are the resources a task's cgroup enforces; zero means no limit.
type Limits struct {
	MemoryBytes int64
	CPUs        float64
}

// Manager creates task cgroups. The zero Manager is disabled.
type Manager struct {
	version int      // 0 when disabled
	bases   []string // the marina/ directories tasks' cgroups go in, one per hierarchy
	reason  string   // why the manager is disabled
}

// Disabled returns a manager that creates no cgroups, saying why.
func Disabled(reason string) *Manager { return &Manager{reason: reason} }

// Enabled reports whether tasks get cgroups.
func (m *Manager) Enabled() bool { return m != nil && m.version != 0 }

// Version returns 1 or 2, or 0 when disabled.
func (m *Manager) Version() int { return m.version }

// Reason says why the manager is disabled.
func (m *Manager) Reason() string { return m.reason }

// String describes the manager for logs.
func (m *Manager) String() string {
	if !m.Enabled() {
		return "cgroups disabled: " + m.reason
	}
	return fmt.Sprintf("cgroup v%d under %s", m.version, strings.Join(m.bases, ", "))
}

// Host paths Detect reads.
const (
	fsRoot        = "/sys/fs/cgroup"
	procCgroup    = "/proc/self/cgroup"
	procMountinfo = "/proc/self/mountinfo"
	dirName       = "marina"
)

// Detect inspects the host and returns a manager, disabled (with the reason) when cgroups
// cannot be used. It creates the marina/ directories it will put task cgroups in.
func Detect() *Manager {
	self, err := os.ReadFile(procCgroup)
	if err != nil {
		return Disabled(err.Error())
	}
	if _, err := os.Stat(filepath.Join(fsRoot, "cgroup.controllers")); err == nil {
		return detectV2(fsRoot, parseProcCgroup(self)[""])
	}
	mounts, err := os.ReadFile(procMountinfo)
	if err != nil {
		return Disabled(err.Error())
	}
	return detectV1(parseProcCgroup(self), parseMountinfo(mounts))
}

func detectV1(own map[string]string, mounts []mount) *Manager {
	m := &Manager{version: 1}
	for _, ctl := range []string{"memory", "cpu"} {
		mnt, ok := findV1Mount(mounts, ctl)
		if !ok {
			return Disabled("cgroup v1: no " + ctl + " hierarchy mounted")
		}
		path, ok := own[ctl]
		if !ok {
			return Disabled("cgroup v1: own " + ctl + " cgroup unknown")
		}
		rel := strings.TrimPrefix(path, mnt.root)
		base := filepath.Join(mnt.point, rel, dirName)
		if err := probe(base, ctl); err != nil {
			return Disabled(fmt.Sprintf("cgroup v1: %s: %v", ctl, err))
		}
		m.bases = append(m.bases, base)
	}
	return m
}

func detectV2(root, own string) *Manager {
	ctls, err := os.ReadFile(filepath.Join(root, own, "cgroup.controllers"))
	if err != nil {
		return Disabled("cgroup v2: " + err.Error())
	}
	have := strings.Fields(string(ctls))
	for _, c := range []string{"memory", "cpu"} {
		if !slices.Contains(have, c) {
			return Disabled("cgroup v2: controller " + c + " not delegated to " + own)
		}
	}
	// Below the agent's own cgroup when it may delegate (it must hold no processes itself for
	// that), else below the root.
	var errs []error
	for _, parent := range []string{filepath.Join(root, own), root} {
		if err := enableV2(parent); err != nil {
			errs = append(errs, err)
			continue
		}
		base := filepath.Join(parent, dirName)
		if err := os.MkdirAll(base, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := enableV2(base); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := probe(base, "memory"); err != nil {
			errs = append(errs, err)
			continue
		}
		return &Manager{version: 2, bases: []string{base}}
	}
	return Disabled("cgroup v2: " + errors.Join(errs...).Error())
}

func enableV2(dir string) error {
	f := filepath.Join(dir, "cgroup.subtree_control")
	cur, err := os.ReadFile(f)
	if err == nil && slices.Contains(strings.Fields(string(cur)), "memory") && slices.Contains(strings.Fields(string(cur)), "cpu") {
		return nil
	}
	if err := os.WriteFile(f, []byte("+memory +cpu"), 0); err != nil {
		return fmt.Errorf("enable memory,cpu in %s: %w", dir, err)
	}
	return nil
}

// probe checks that task cgroups can be made and limited below base.
func probe(base, ctl string) error {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	dir := filepath.Join(base, ".probe-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	defer os.Remove(dir)
	file := map[string]string{"memory": "memory.limit_in_bytes", "cpu": "cpu.shares"}[ctl]
	val := map[string]string{"memory": "1073741824", "cpu": "1024"}[ctl]
	if _, err := os.Stat(filepath.Join(dir, "memory.max")); err == nil {
		file, val = "memory.max", "1073741824"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0); err != nil {
		return err
	}
	return nil
}

// Group is one task's cgroup, a directory per hierarchy.
type Group struct {
	Version int      `json:"version"`
	Dirs    []string `json:"dirs"`
}

// Create makes the cgroup of container id with limits l.
func (m *Manager) Create(id string, l Limits) (*Group, error) {
	if !m.Enabled() {
		return nil, errors.New(m.String())
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	g := &Group{Version: m.version}
	for _, base := range m.bases {
		dir := filepath.Join(base, id)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			_ = g.Destroy(context.Background())
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		g.Dirs = append(g.Dirs, dir)
	}
	if err := g.Limit(l); err != nil {
		_ = g.Destroy(context.Background())
		return nil, err
	}
	return g, nil
}

func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return fmt.Errorf("cgroup: bad id %q", id)
	}
	return nil
}

// Limit sets the group's limits; zero fields leave theirs unchanged.
func (g *Group) Limit(l Limits) error {
	shares := uint64(math.Max(2, math.Round(l.CPUs*1024)))
	const period = 100000
	quota := int64(math.Max(1000, math.Round(l.CPUs*period)))
	var writes [][2]string
	if g.Version == 2 {
		if l.MemoryBytes > 0 {
			writes = append(writes, [2]string{"memory.max", strconv.FormatInt(l.MemoryBytes, 10)})
		}
		if l.CPUs > 0 {
			weight := 1 + ((shares-2)*9999)/262142
			writes = append(writes,
				[2]string{"cpu.weight", strconv.FormatUint(weight, 10)},
				[2]string{"cpu.max", fmt.Sprintf("%d %d", quota, period)})
		}
	} else {
		if l.MemoryBytes > 0 {
			writes = append(writes, [2]string{"memory.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10)})
		}
		if l.CPUs > 0 {
			writes = append(writes,
				[2]string{"cpu.shares", strconv.FormatUint(shares, 10)},
				[2]string{"cpu.cfs_period_us", strconv.Itoa(period)},
				[2]string{"cpu.cfs_quota_us", strconv.FormatInt(quota, 10)})
		}
	}
	for _, w := range writes {
		if err := g.write(w[0], w[1]); err != nil {
			return err
		}
	}
	return nil
}

// write writes value to file in whichever of the group's directories has it.
func (g *Group) write(file, value string) error {
	for _, d := range g.Dirs {
		p := filepath.Join(d, file)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := os.WriteFile(p, []byte(value), 0); err != nil {
			return fmt.Errorf("cgroup: set %s=%s: %w", file, value, err)
		}
		return nil
	}
	return fmt.Errorf("cgroup: no %s in %v", file, g.Dirs)
}

// Procs returns the cgroup.procs files a task writes its pid to, to join the group.
func (g *Group) Procs() []string {
	if g == nil {
		return nil
	}
	out := make([]string, len(g.Dirs))
	for i, d := range g.Dirs {
		out[i] = filepath.Join(d, "cgroup.procs")
	}
	return out
}

// OOMKilled reports whether the kernel killed a process of the group for exceeding its memory
// limit.
func (g *Group) OOMKilled() bool {
	if g == nil {
		return false
	}
	for _, d := range g.Dirs {
		for _, f := range []string{"memory.events", "memory.oom_control"} {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				continue
			}
			if n, ok := field(b, "oom_kill"); ok && n > 0 {
				return true
			}
		}
	}
	return false
}

// KillAll sends SIGKILL to every process in the group.
func (g *Group) KillAll() {
	if g == nil {
		return
	}
	for _, d := range g.Dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(s); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// Destroy kills what is left in the group and removes its directories, retrying while the
// kernel finishes with the killed processes, until ctx ends or about two seconds pass.
func (g *Group) Destroy(ctx context.Context) error {
	if g == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	delay := 5 * time.Millisecond
	for {
		g.KillAll()
		var errs []error
		for _, d := range g.Dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup: remove: %w", errors.Join(errs...))
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// Prune removes the empty task cgroups older than minAge whose container keep does not claim:
// cgroups left by agents that stopped before their tasks' cleanup. A cgroup that still holds a
// process cannot be removed, so running tasks are never affected. It returns how many it
// removed.
func (m *Manager) Prune(minAge time.Duration, keep func(id string) bool) int {
	if !m.Enabled() {
		return 0
	}
	cutoff := time.Now().Add(-minAge)
	n := 0
	for _, base := range m.bases {
		entries, err := os.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || keep(e.Name()) {
				continue
			}
			info, err := e.Info()
			if err != nil || info.ModTime().After(cutoff) {
				continue
			}
			if os.Remove(filepath.Join(base, e.Name())) == nil {
				n++
			}
		}
	}
	return n
}

// parseProcCgroup maps each controller of /proc/self/cgroup to the process's cgroup path; the
// v2 (unified) path is under "".
func parseProcCgroup(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

type mount struct {
	root, point, fstype string
	opts                []string
}

// parseMountinfo reads /proc/self/mountinfo lines: "id parent dev root point opts [optional...]
// - fstype source superopts".
func parseMountinfo(b []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		out = append(out, mount{root: f[3], point: f[4], fstype: g[0], opts: strings.Split(g[2], ",")})
	}
	return out
}

func findV1Mount(ms []mount, ctl string) (mount, bool) {
	for _, m := range ms {
		if m.fstype == "cgroup" && slices.Contains(m.opts, ctl) {
			return m, true
		}
	}
	return mount{}, false
}

// field returns the number after name in "name value" lines.
func field(b []byte, name string) (int64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && k == name {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
