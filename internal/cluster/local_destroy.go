package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

// StopGrace is how long nodes have to exit after SIGTERM before they get SIGKILL.
const StopGrace = 5 * time.Second

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
	var errs []error
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
// The master whose etcd member leads raft is stopped last, once the other members stopped: a
// raft leader that stops hands leadership to a connected peer and waits for it (up to 6 s
// when that peer is stopping too), and a member waits up to 1 s for its peers to hang up.
// Stopping the followers first, then the leader, which has no peer left to hand over to, takes
// a fraction of a second.
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
	deadline := time.Now().Add(StopGrace)
	last := raftLeader(ctx, c)
	for pid := range pids {
		if last == nil || pid != last.PID {
			_ = signal(pid, syscall.SIGTERM)
		}
	}
	if last != nil {
		waitFollowersStopped(ctx, c, last, deadline)
		_ = signal(last.PID, syscall.SIGTERM)
	}
	for len(pids) > 0 {
		for pid, start := range pids {
			if !processAlive(pid, start) {
				delete(pids, pid)
			}
		}
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			for pid, start := range pids {
				if processAlive(pid, start) {
					_ = signal(pid, syscall.SIGKILL)
				}
			}
			deadline = time.Now().Add(time.Hour) // SIGKILL once; keep waiting for them to go
			if ctx.Err() != nil {
				return stopped, fmt.Errorf("stop nodes: %w", ctx.Err())
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return stopped, nil
}

// raftLeader returns the running master whose etcd member leads raft (its client port's
// /metrics says etcd_server_is_leader 1), or nil.
func raftLeader(ctx context.Context, c *Cluster) *Node {
	masters := c.Masters()
	if len(masters) < 2 {
		return nil
	}
	for _, m := range masters {
		if !processAlive(m.PID, m.StartTime) {
			continue
		}
		resp, err := httpGet(ctx, "http://"+net.JoinHostPort(m.IP, strconv.Itoa(etcdClient))+"/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(b, []byte("\netcd_server_is_leader 1")) {
			return m
		}
	}
	return nil
}

// waitFollowersStopped waits until every master but leader stopped its etcd member (its peer
// port is closed) or exited, or deadline passes.
func waitFollowersStopped(ctx context.Context, c *Cluster, leader *Node, deadline time.Time) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		busy := false
		for _, m := range c.Masters() {
			if m == leader || !processAlive(m.PID, m.StartTime) {
				continue
			}
			if errors.Is(checkAddrFree(m.IP, etcdPeer), syscall.EADDRINUSE) {
				busy = true
			}
		}
		if !busy {
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
