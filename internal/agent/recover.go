package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// loadAgentID reads the checkpointed agent id, if the agent ever registered.
func (a *Agent) loadAgentID() error {
	var id string
	switch err := readJSON(a.dir.agentID(), &id); {
	case err == nil:
		a.savedID = id
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	return nil
}

// recover reloads the rest of the checkpoint: frameworks, tasks and their unacknowledged
// updates. Tasks still running are re-attached to; tasks whose supervisor died meanwhile are
// reported (runTask does both).
func (a *Agent) recover() error {
	fws, err := os.ReadDir(a.dir.frameworks())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fe := range fws {
		fw := fe.Name()
		if !fe.IsDir() || checkID(fw) != nil {
			continue
		}
		var info mesos.FrameworkInfo
		if err := readJSON(filepath.Join(a.dir.framework(fw), frameworkFile), &info); err == nil {
			a.frameworks[fw] = &framework{info: info}
		} else if !errors.Is(err, os.ErrNotExist) {
			a.log.Warn("recover framework", "framework", fw, "err", err)
		}
		tasks, err := os.ReadDir(a.dir.tasks(fw))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, te := range tasks {
			if te.IsDir() && checkID(te.Name()) == nil {
				if err := a.recoverTaskLocked(fw, te.Name()); err != nil {
					a.log.Warn("recover task", "framework", fw, "task", te.Name(), "err", err)
				}
			}
		}
		if !a.hasTasksLocked(fw) {
			delete(a.frameworks, fw)
			_ = os.RemoveAll(a.dir.framework(fw))
		}
	}
	a.log.Info("recovered checkpoint", "agent_id", a.savedID, "tasks", len(a.tasks), "frameworks", len(a.frameworks))
	return nil
}

func (a *Agent) hasTasksLocked(fw string) bool {
	for k := range a.tasks {
		if k.fw == fw {
			return true
		}
	}
	return false
}

func (a *Agent) recoverTaskLocked(fw, id string) error {
	dir := a.dir.task(fw, id)
	var rec taskRecord
	if err := readJSON(filepath.Join(dir, taskFile), &rec); err != nil {
		// A crash before task.json was written: nothing ran, nothing was reported.
		if errors.Is(err, os.ErrNotExist) {
			return os.RemoveAll(dir)
		}
		return err
	}
	if rec.FrameworkID != fw || rec.Task.TaskID.Value != id {
		return fmt.Errorf("checkpoint names %s/%s", rec.FrameworkID, rec.Task.TaskID.Value)
	}
	pending, latest, err := replayUpdates(dir)
	if err != nil {
		return err
	}
	t := &task{key: taskKey{fw, id}, rec: rec, dir: dir, state: mesos.TaskStaging, pending: pending}
	if latest != nil {
		t.state = latest.State
		t.statuses = []mesos.TaskStatus{*latest}
	}
	if t.state.Terminal() && len(pending) == 0 {
		// Acknowledged before a crash kept the agent from forgetting it.
		return os.RemoveAll(dir)
	}
	a.tasks[t.key] = t
	if len(pending) > 0 {
		a.pendingSet[t.key] = t
		t.backoff = a.updateBackoffMin
	}
	if rec.Phantom || t.state.Terminal() {
		return nil
	}
	ex := a.executors[rec.Executor]
	if ex == nil {
		a.failLocked(t, mesos.ReasonExecutorTerminated, "Executor terminated: no "+rec.Executor+" executor on this agent")
		return nil
	}
	spec := a.spec(t)
	a.goTracked(func() { a.runTask(t, ex, spec, false) })
	return nil
}
