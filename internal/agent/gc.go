package agent

import (
	"os"
	"path/filepath"
	"time"
)

// Sandboxes of tasks the agent no longer tracks are removed once untouched for sandboxMaxAge;
// the agent looks every gcInterval.
const (
	sandboxMaxAge = 7 * 24 * time.Hour
	gcInterval    = time.Hour
)

// gcLoop collects old sandboxes and leftover cgroups until the agent closes.
func (a *Agent) gcLoop() {
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		a.gcSandboxes(a.now().Add(-sandboxMaxAge))
		a.gcCgroups()
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcSandboxes removes the sandboxes of tasks the agent does not track (running, or with
// updates to deliver) that were last modified before cutoff, and framework directories left
// empty.
func (a *Agent) gcSandboxes(cutoff time.Time) {
	fws, err := os.ReadDir(a.dir.sandboxes())
	if err != nil {
		return
	}
	for _, fe := range fws {
		if !fe.IsDir() {
			continue
		}
		fwDir := filepath.Join(a.dir.sandboxes(), fe.Name())
		tasks, err := os.ReadDir(fwDir)
		if err != nil {
			continue
		}
		left := len(tasks)
		for _, te := range tasks {
			info, err := te.Info()
			if err != nil || !te.IsDir() || info.ModTime().After(cutoff) {
				continue
			}
			a.mu.Lock()
			_, tracked := a.tasks[taskKey{fe.Name(), te.Name()}]
			a.mu.Unlock()
			if tracked {
				continue
			}
			if err := os.RemoveAll(filepath.Join(fwDir, te.Name())); err != nil {
				a.log.Warn("remove old sandbox", "framework", fe.Name(), "task", te.Name(), "err", err)
				continue
			}
			a.log.Info("removed old sandbox", "framework", fe.Name(), "task", te.Name())
			left--
		}
		if left == 0 {
			_ = os.Remove(fwDir)
		}
	}
}

// cgroupMinAge keeps cgroup pruning away from containers being created, whose cgroup is empty
// for the few milliseconds before their task joins it.
const cgroupMinAge = time.Minute

// gcCgroups removes empty task cgroups that no task of this agent claims: those of tasks that
// ended while no agent ran to clean up after them. Agents sharing a host share the cgroup
// parent; a cgroup in use by another agent's task is never empty, so it stays.
func (a *Agent) gcCgroups() {
	a.mu.Lock()
	mine := make(map[string]bool, len(a.tasks))
	for _, t := range a.tasks {
		mine[t.rec.ContainerID] = true
	}
	a.mu.Unlock()
	if n := a.cgroups.Prune(cgroupMinAge, func(id string) bool { return mine[id] }); n > 0 {
		a.log.Info("removed leftover task cgroups", "count", n)
	}
}
