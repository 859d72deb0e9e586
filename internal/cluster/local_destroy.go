package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent"
	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

// StopGrace is how long nodes have to exit after SIGTERM before they get SIGKILL.
const StopGrace = 5 * time.Second

// Destroy stops the cluster's processes: the nodes first (masters SIGKILL, agents SIGTERM and
// SIGKILL after StopGrace),
// then every task the agents left running (tasks survive their agent by design), found through
// the supervisors' pid files under the agents' work dirs, then whatever still runs in the
// nodes' or supervisors' sessions or under the cluster's node directories. It removes the tasks'
// cgroups, waits until no node port listens, and leaves c.Dir to the caller.
func (l *Local) Destroy(ctx context.Context, c *Cluster) error {
	stopped, err := l.stopNodes(ctx, c)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range c.Agents() {
		// Kills process tasks and removes docker tasks' containers alike.
		if err := agent.KillTasks(ctx, n.WorkDir); err != nil {
			errs = append(errs, fmt.Errorf("%s: kill tasks: %w", n.Name, err))
		}
	}
	t := findTasks(filepath.Join(c.Dir, "nodes"))
	for _, pgid := range t.pgids {
		_ = signal(-pgid, syscall.SIGKILL)
	}
	for _, pid := range t.supervisors {
		_ = signal(pid, syscall.SIGKILL)
	}
	sessions := stopped // each node leads a session of its own
	for _, pid := range t.supervisors {
		sessions[pid] = true
	}
	groups := map[int]bool{}
	for _, pg := range t.pgids {
		groups[pg] = true
	}
	if err := sweep(ctx, c.Dir, sessions, groups); err != nil {
		return err
	}
	for _, g := range t.cgroups {
		if err := g.Destroy(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := waitPortsClosed(pctx, c.Nodes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stopNodes stops every node process (those recorded, and any other marina process working
// under c.Dir, say from an up that crashed before recording it) and returns the pids it stopped.
//
// Masters get SIGKILL at once: what they hold is about to be removed, and a graceful stop
// would only write to etcd (a leader resigns, a standby withdraws) with a quorum that vanishes
// as they stop, waiting for etcd's timeouts in vain. Agents get SIGTERM, then SIGKILL after
// StopGrace; the tasks they leave are Destroy's to kill.
func (l *Local) stopNodes(ctx context.Context, c *Cluster) (map[int]bool, error) {
	self := ancestors()
	pids := map[int]uint64{}
	for _, n := range c.Nodes {
		if processAlive(n.PID, n.StartTime) {
			pids[n.PID] = n.StartTime
		}
	}
	for _, p := range allProcs() {
		if !self[p.PID] && procArgsUnder(p.PID, filepath.Join(c.Dir, "nodes")) {
			pids[p.PID] = p.StartTime
		}
	}
	stopped := map[int]bool{}
	for pid := range pids {
		stopped[pid] = true
	}
	masters := map[int]bool{}
	for _, m := range c.Masters() {
		masters[m.PID] = m.PID != 0
	}
	// Each process gets SIGKILL once its deadline passes.
	deadlines := map[int]time.Time{}
	now := time.Now()
	for pid := range pids {
		if masters[pid] {
			deadlines[pid] = now
			continue
		}
		deadlines[pid] = now.Add(StopGrace)
		_ = signal(pid, syscall.SIGTERM)
	}
	for len(pids) > 0 {
		now := time.Now()
		for pid, start := range pids {
			switch {
			case !processAlive(pid, start):
				delete(pids, pid)
			case !now.Before(deadlines[pid]) || ctx.Err() != nil:
				_ = signal(pid, syscall.SIGKILL)
				deadlines[pid] = now.Add(time.Hour) // SIGKILL once; keep waiting for it to go
			}
		}
		if len(pids) == 0 {
			break
		}
		if ctx.Err() != nil {
			return stopped, fmt.Errorf("stop nodes: %w", ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return stopped, nil
}

// tasks is what the agents' supervisors recorded about the tasks they run.
type tasks struct {
	supervisors []int // pids, still alive when found
	pgids       []int // the tasks' process groups
	cgroups     []*cgroups.Group
}

// findTasks walks the agents' work dirs under nodesDir for supervisors' state directories.
func findTasks(nodesDir string) tasks {
	var t tasks
	_ = filepath.WalkDir(nodesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != supervisor.PIDFile {
			return nil
		}
		dir := filepath.Dir(path)
		if info, err := supervisor.ReadPID(dir); err == nil && processAlive(info.PID, info.StartTime) {
			t.supervisors = append(t.supervisors, info.PID)
		}
		if pg := supervisor.ReadPGID(dir); pg > 0 {
			t.pgids = append(t.pgids, pg)
		}
		// The command executor records a task's cgroup beside the supervisor's files.
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.json")); err == nil {
			var g cgroups.Group
			if json.Unmarshal(b, &g) == nil && len(g.Dirs) > 0 {
				t.cgroups = append(t.cgroups, &g)
			}
		}
		return nil
	})
	return t
}

// sweep kills, until none is left, every process that belongs to the cluster: in one of
// sessions (a node's or a supervisor's), in one of groups (a task's), running with its working
// directory under the cluster's node directories (a task that left its group) or naming them on
// its command line. The caller and its ancestors are spared.
func sweep(ctx context.Context, dir string, sessions, groups map[int]bool) error {
	self := ancestors()
	nodes := filepath.Join(dir, "nodes")
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, p := range allProcs() {
			if self[p.PID] {
				continue
			}
			if sessions[p.SID] || groups[p.PGID] || procCwdUnder(p.PID, nodes) || procArgsUnder(p.PID, nodes) {
				left = append(left, p.PID)
				_ = signal(p.PID, syscall.SIGKILL)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of the cluster survive SIGKILL: %v", left)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stop tasks: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
