package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/marina-dcos/marina/internal/agent"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

// StopGrace is how long nodes have to exit after SIGTERM before they get SIGKILL.
const StopGrace = 5 * time.Second

// lastMasterGrace is the grace of the last master to stop, which has no quorum left to stop
// gracefully with (see stopNodes).
const lastMasterGrace = 1500 * time.Millisecond

// Destroy stops the cluster's processes: the nodes first (SIGTERM, SIGKILL after StopGrace),
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

// stopNodes sends SIGTERM to every node process (those recorded, and any other marina process
// working under c.Dir, say from an up that crashed before recording it), then SIGKILL to those
// still running after StopGrace. It returns the pids it stopped.
//
// Masters stop one at a time, standbys first and the leading master last, each once the one
// before has stopped its etcd member. A master's graceful stop writes to etcd (a leader resigns,
// a standby withdraws its candidacy), which needs a quorum: stopped together, the last ones
// wait for it in vain, a withdrawing standby for etcd's request timeout (6 s), and a raft leader
// hands leadership to a peer that is stopping too and waits as long. In this order every master
// but the last stops with a quorum. The last one cannot have a quorum any more, and what it
// holds is about to be removed: it gets lastMasterGrace (the leader gives up resigning after
// 1 s and exits by itself), then SIGKILL.
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
	// Each process gets SIGKILL once its deadline passes.
	deadlines := map[int]time.Time{}
	grace := time.Now().Add(StopGrace)
	masters := mastersInStopOrder(ctx, c)
	inOrder := map[int]bool{}
	for _, m := range masters {
		inOrder[m.PID] = true
	}
	for pid := range pids {
		if !inOrder[pid] {
			deadlines[pid] = grace
			_ = signal(pid, syscall.SIGTERM)
		}
	}
	for i, m := range masters {
		deadlines[m.PID] = grace
		if i == len(masters)-1 {
			deadlines[m.PID] = time.Now().Add(lastMasterGrace)
		}
		_ = signal(m.PID, syscall.SIGTERM)
		if i < len(masters)-1 {
			waitEtcdStopped(ctx, m, grace)
		}
	}
	for len(pids) > 0 {
		now := time.Now()
		for pid, start := range pids {
			switch {
			case !processAlive(pid, start):
				delete(pids, pid)
			case now.After(deadlines[pid]) || ctx.Err() != nil:
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

// mastersInStopOrder returns the running masters, the leader last when one leads.
func mastersInStopOrder(ctx context.Context, c *Cluster) []*Node {
	var running []*Node
	for _, m := range c.Masters() {
		if processAlive(m.PID, m.StartTime) {
			running = append(running, m)
		}
	}
	if len(running) < 2 {
		return running
	}
	for i, v := range viewMasters(ctx, running) {
		if v.Err == nil && v.Elected {
			return append(slices.Delete(slices.Clone(running), i, i+1), running[i])
		}
	}
	return running
}

// waitEtcdStopped waits until master m stopped its etcd member (its peer port is closed) or
// exited, or deadline passes.
func waitEtcdStopped(ctx context.Context, m *Node, deadline time.Time) {
	for time.Now().Before(deadline) && ctx.Err() == nil && processAlive(m.PID, m.StartTime) {
		if !errors.Is(checkAddrFree(m.IP, etcdPeer), syscall.EADDRINUSE) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
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
