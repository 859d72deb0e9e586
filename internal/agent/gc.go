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

// gcLoop collects old sandboxes until the agent closes.
func (a *Agent) gcLoop() {
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		a.gcSandboxes(a.now().Add(-sandboxMaxAge))
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
