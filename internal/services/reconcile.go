package services

import (
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// Reconciliation, after every subscription and every ReconcileInterval: an explicit request for
// every known instance, then an implicit one for every task the master knows of this framework.
// Answers arrive as ordinary status updates: unknown tasks that run are killed (applyStatus),
// instances reported LOST, GONE or UNKNOWN are removed and replaced. The master may not answer
// for an instance yet (its agent has not re-registered after a failover): those are asked again
// every few seconds until it does.

// reconcileChunk bounds the tasks named in one RECONCILE call.
const reconcileChunk = 1000

// reconcileRetry is how often instances the master did not answer for are asked about again.
const reconcileRetry = 3 * time.Second

// inFlight is how young an instance may be and still be unknown to the master: its ACCEPT may
// not have reached it yet.
const inFlight = 10 * time.Second

func (l *leader) reconcile(st *scheduler.Stream) {
	l.mu.Lock()
	tasks := make([]mesos.ReconcileTask, 0, len(l.instances))
	for _, in := range l.instances {
		tasks = append(tasks, reconcileTask(in))
	}
	l.lastReconcile = l.s.now()
	l.mu.Unlock()
	if !l.sendReconcile(st, tasks) {
		return
	}
	if err := st.Reconcile(l.ctx); err != nil {
		l.log.Warn("implicit reconciliation", "err", err)
		return
	}
	l.s.metrics.reconciliations.Inc()
}

// reconcileUnanswered asks again about instances the master did not answer for.
func (l *leader) reconcileUnanswered(st *scheduler.Stream) {
	now := l.s.now()
	l.mu.Lock()
	if now.Sub(l.lastReconcile) < reconcileRetry {
		l.mu.Unlock()
		return
	}
	var tasks []mesos.ReconcileTask
	for _, in := range l.instances {
		if !in.reconciled && now.Sub(in.StagedAt) >= inFlight {
			tasks = append(tasks, reconcileTask(in))
		}
	}
	l.lastReconcile = now // found or not, the next look is reconcileRetry away
	l.mu.Unlock()
	l.sendReconcile(st, tasks)
}

func (l *leader) sendReconcile(st *scheduler.Stream, tasks []mesos.ReconcileTask) bool {
	for len(tasks) > 0 {
		n := min(len(tasks), reconcileChunk)
		if err := st.Reconcile(l.ctx, tasks[:n]...); err != nil {
			l.log.Warn("explicit reconciliation", "err", err)
			return false
		}
		tasks = tasks[n:]
	}
	return true
}
