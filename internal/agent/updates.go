package agent

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"time"

	"github.com/marina-dcos/marina/internal/agent/internal/launchtrace"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// The status update manager: every update a task produces is checkpointed, then sent, then
// resent with backoff until acknowledged; per task one update is outstanding, in order. The
// checkpoint is written before the update is sent, so it survives the agent's crash; a
// terminal update is sent only once its checkpoint is durable too (synced in batches by the
// agent's syncer), while the others go out at once and are synced in the background: a machine
// crash that loses one loses the task with it, and the agent then reports how the task ended.

func newUUID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	return b
}

// enqueueLocked gives st a UUID and timestamp, checkpoints it, and queues it for delivery.
func (a *Agent) enqueueLocked(t *task, st mesos.TaskStatus) {
	st.TaskID = t.rec.Task.TaskID
	st.UUID = newUUID()
	st.Timestamp = float64(a.now().UnixNano()) / 1e9
	if st.Source == "" {
		st.Source = mesos.SourceExecutor
	}
	if id := a.agentIDLocked(); id != "" {
		st.AgentID = mesos.NewID(id)
	}
	t.waitCheckpointed()
	b, err := a.appendUpdate(t.dir, updateRecord{Status: &st})
	if err != nil {
		// Delivery continues from memory; only a restart before the ack would lose the update.
		a.log.Error("checkpoint status update", "task", t.key.task, "state", st.State, "err", err)
	} else if st.State.Terminal() {
		t.terminalBatch = b
	}
	t.state = st.State
	a.counters.count(st.State)
	t.statuses = appendBounded(t.statuses, st, maxStatuses)
	t.pending = append(t.pending, st)
	if len(t.pending) == 1 {
		a.pendingSet[t.key] = t
		t.nextSend, t.backoff = time.Time{}, a.updateBackoffMin
		// Sent from here when it may go now, rather than by the update loop a goroutine
		// switch later; the loop still learns of it, for the resends.
		if s := a.sess; s != nil && s.isRegistered() {
			a.sendDueLocked(s, t, a.now())
		}
		a.kick()
	}
}

// sendUnreliableLocked sends an update that is neither checkpointed nor retried nor
// acknowledged (no UUID), for tasks the agent cannot keep a checkpoint of.
func (a *Agent) sendUnreliableLocked(fw string, st mesos.TaskStatus) {
	st.Timestamp = float64(a.now().UnixNano()) / 1e9
	if id := a.agentIDLocked(); id != "" {
		st.AgentID = mesos.NewID(id)
	}
	if a.sess != nil && a.sess.isRegistered() {
		a.sess.send(mesos.AgentCall{Type: mesos.AgentCallUpdate, Update: &mesos.AgentUpdate{FrameworkID: mesos.ID{Value: fw}, Status: st}})
	}
}

// kick wakes the update loop.
func (a *Agent) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// updateLoop sends due updates whenever a stream is registered.
func (a *Agent) updateLoop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := a.flushUpdates()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(a.now()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-a.ctx.Done():
			return
		case <-a.wake:
		case <-timer.C:
		}
	}
}

// flushUpdates sends each task's outstanding update when it is due and returns when the next
// one will be due (zero when none is, or no stream is registered). A terminal update waits for
// its checkpoint to be durable; the syncer kicks the loop when a batch is.
func (a *Agent) flushUpdates() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sess
	if s == nil || !s.isRegistered() {
		return time.Time{}
	}
	now := a.now()
	var next time.Time
	for _, t := range a.pendingSet {
		if due := a.sendDueLocked(s, t, now); !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next
}

// sendDueLocked sends t's outstanding update on s when it is due at now, and returns when it
// will be due next: zero while a terminal update waits for its checkpoint to be durable.
func (a *Agent) sendDueLocked(s *session, t *task, now time.Time) time.Time {
	if t.pending[0].State.Terminal() && !a.sync.Synced(t.terminalBatch) {
		return time.Time{}
	}
	if t.nextSend.After(now) {
		return t.nextSend
	}
	st := t.pending[0]
	st.AgentID = mesos.NewID(a.id)
	call := mesos.AgentCall{Type: mesos.AgentCallUpdate, Update: &mesos.AgentUpdate{
		FrameworkID: mesos.ID{Value: t.key.fw}, Status: st}}
	if st.State == mesos.TaskRunning {
		launchtrace.Mark(t.key.task, launchtrace.Sent)
	}
	if s.send(call) {
		t.nextSend = now.Add(t.backoff)
		t.backoff = min(2*t.backoff, a.updateBackoffMax)
	} else {
		t.nextSend = now.Add(50 * time.Millisecond) // the stream's queue is full
	}
	return t.nextSend
}

// resendAllLocked makes every outstanding update due now, with a fresh backoff: after a
// (re-)registration the new master has seen none of them.
func (a *Agent) resendAllLocked() {
	for _, t := range a.pendingSet {
		t.nextSend, t.backoff = time.Time{}, a.updateBackoffMin
	}
	a.kick()
}

// handleAck drops an acknowledged update and sends the task's next one; a task whose terminal
// update was acknowledged is forgotten.
func (a *Agent) handleAck(ack *mesos.AgentAcknowledged) {
	a.mu.Lock()
	dir, ok := a.ackLocked(ack)
	a.mu.Unlock()
	if !ok {
		return
	}
	// Recorded outside the agent's lock, and synced in the background: an acknowledgement lost
	// to a crash only has the update resent. A task removed meanwhile needs no record.
	if _, err := a.appendUpdate(dir, updateRecord{Ack: ack.UUID}); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Error("checkpoint acknowledgement", "task", ack.TaskID.Value, "err", err)
	}
}

// ackLocked applies an acknowledgement and returns the checkpoint directory it must be recorded
// in; none when it was unexpected, or when it ended the task, whose checkpoint then goes.
func (a *Agent) ackLocked(ack *mesos.AgentAcknowledged) (dir string, record bool) {
	key := taskKey{ack.FrameworkID.Value, ack.TaskID.Value}
	t := a.tasks[key]
	if t == nil || len(t.pending) == 0 || !bytes.Equal(t.pending[0].UUID, ack.UUID) {
		a.log.Debug("ignoring unexpected acknowledgement", "framework", key.fw, "task", key.task)
		return "", false
	}
	head := t.pending[0]
	t.pending = t.pending[1:]
	if len(t.pending) == 0 {
		t.pending = nil
		delete(a.pendingSet, key)
		if head.State.Terminal() {
			a.removeTaskLocked(t)
			return "", false
		}
		return t.dir, true
	}
	t.nextSend, t.backoff = time.Time{}, a.updateBackoffMin
	a.kick()
	return t.dir, true
}
