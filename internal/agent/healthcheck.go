package agent

import (
	"context"
	"os"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/health"
	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// startHealthCheck starts the task's health check (package health) when it has one and is
// running, and returns the function that stops it; runTask calls that as soon as the task
// ends, so no health update follows the task's end.
func (a *Agent) startHealthCheck(ctx context.Context, t *task, spec executor.Spec) (stop func()) {
	hc := t.rec.Task.HealthCheck
	a.mu.Lock()
	running := t.state == mesos.TaskRunning && !t.rec.KillRequested
	if l := t.latest(); t.healthy == nil && l != nil && l.Healthy != nil {
		// Recovered: the health last reported before the agent restarted.
		t.healthy = new(*l.Healthy)
	}
	ctr, resumed := t.container, t.healthy != nil
	a.mu.Unlock()
	if hc == nil || !running {
		return func() {}
	}
	log := a.log.With("framework", t.key.fw, "task", t.key.task)
	hctx, cancel := context.WithCancel(ctx)
	target := health.Target{Dir: spec.Sandbox, Log: log, Resumed: resumed}
	if c, ok := ctr.(health.Container); ok {
		// Docker tasks: COMMAND checks run inside the container.
		target.Container = c
	} else if hc.Type == "COMMAND" {
		target.Env = process.Env(os.Environ(), spec)
	}
	log.Info("starting health check", "type", hc.Type)
	a.goTracked(func() {
		health.Run(hctx, *hc, target, func(r health.Result) { a.healthChanged(hctx, t, r) })
	})
	return func() {
		// Under the lock, so a result being reported either lands before or is dropped.
		a.mu.Lock()
		cancel()
		a.mu.Unlock()
	}
}

// healthChanged reports a change of a running task's health as a TASK_RUNNING update with
// healthy set, and kills the task when its check failed too often.
func (a *Agent) healthChanged(ctx context.Context, t *task, r health.Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ctx.Err() != nil || t.rec.KillRequested || t.state != mesos.TaskRunning {
		return
	}
	log := a.log.With("framework", t.key.fw, "task", t.key.task)
	if t.healthy == nil || *t.healthy != r.Healthy {
		log.Info("task health changed", "healthy", r.Healthy, "failures", r.ConsecutiveFailures, "message", r.Message)
		t.healthy = new(r.Healthy)
		st := mesos.TaskStatus{State: mesos.TaskRunning, Source: mesos.SourceExecutor,
			Reason: mesos.ReasonHealthCheckFailed, Message: r.Message, Healthy: new(r.Healthy)}
		if t.container != nil {
			st.ContainerStatus = a.containerStatus(t.container)
		}
		a.enqueueLocked(t, st)
	}
	if r.Kill {
		log.Warn("killing task: health check failed", "failures", r.ConsecutiveFailures)
		t.rec.HealthKilled = true // checkpointed by killLocked
		a.killLocked(t, nil)
	}
}
