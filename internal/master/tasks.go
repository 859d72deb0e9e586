package master

import (
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// newTask returns a task of f on agentID as described by info, in state.
func newTask(info mesos.TaskInfo, f *framework, agentID string, state mesos.TaskState) *task {
	role := ""
	for _, r := range info.Resources {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" {
			role = r.AllocationInfo.Role
			break
		}
	}
	if role == "" {
		role = f.info.EffectiveRoles()[0]
	}
	res := info.Resources
	if info.Executor != nil {
		res = res.Add(info.Executor.Resources)
	}
	return &task{
		info:        info,
		frameworkID: f.id,
		agentID:     agentID,
		role:        role,
		resources:   res.WithAllocationRole(role),
		state:       state,
	}
}

// masterStatus returns a status update made up by the master (it carries no uuid and needs no
// acknowledgement).
func masterStatus(t *task, state mesos.TaskState, reason, msg string, now time.Time) mesos.TaskStatus {
	s := mesos.TaskStatus{
		TaskID:    t.info.TaskID,
		State:     state,
		Message:   msg,
		Source:    mesos.SourceMaster,
		Reason:    reason,
		AgentID:   &mesos.ID{Value: t.agentID},
		Timestamp: seconds(now),
	}
	if t.info.Executor != nil {
		s.ExecutorID = &mesos.ID{Value: t.info.Executor.ExecutorID.Value}
	}
	return s
}

// sendUpdate sends a status update to the framework's scheduler, if it is connected.
func (m *Master) sendUpdate(f *framework, s mesos.TaskStatus) {
	if f.conn != nil {
		f.conn.send(mesos.Event{Type: mesos.EventUpdate, Update: &mesos.Update{Status: s}})
	}
	m.metrics.statusUpdates.WithLabelValues(string(s.State), s.Source).Inc()
}

// completeTask moves a task that reached a terminal state to its framework's completed tasks;
// with recover its resources go back to the allocator.
func (st *leaderState) completeTask(t *task, f *framework, a *agent, recover bool) {
	key := taskKey{t.frameworkID, t.info.TaskID.Value}
	if a != nil && a.tasks[key] == t {
		delete(a.tasks, key)
	}
	if f != nil {
		if f.tasks[key.task] == t {
			delete(f.tasks, key.task)
		}
		f.addCompleted(t)
	}
	st.terminal[t.state]++
	if recover && a != nil && a.inAllocator() {
		st.alloc.Recover(a.id, t.frameworkID, t.resources)
	}
}

// agentUpdate applies a status update an agent forwards and passes it on to the framework,
// which acknowledges it (the agent retries until then).
func (m *Master) agentUpdate(st *leaderState, a *agent, u *mesos.AgentUpdate) {
	s := u.Status
	fwID := u.FrameworkID.Value
	if s.AgentID == nil {
		s.AgentID = &mesos.ID{Value: a.id}
	}
	if s.Timestamp == 0 {
		s.Timestamp = seconds(m.now())
	}
	drainReason(a, &s)
	f := st.frameworks[fwID]
	if f == nil {
		// The framework was removed (or is unknown): the agent must forget it.
		m.log.Info("status update for an unknown framework; shutting it down on the agent",
			"agent_id", a.id, "framework_id", fwID, "task_id", s.TaskID.Value, "state", s.State)
		a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework, ShutdownFramework: &mesos.AgentShutdown{FrameworkID: u.FrameworkID}})
		return
	}
	if t := a.tasks[taskKey{fwID, s.TaskID.Value}]; t != nil && s.State != "" {
		changed := t.state != s.State
		t.state = s.State
		t.addStatus(s)
		if changed {
			st.publishTaskUpdated(t, s)
		}
		if s.State.Terminal() {
			st.completeTask(t, f, a, true)
			m.triggerAllocation(st)
			m.checkDrained(st, a)
		}
	} else if t == nil {
		// A retried update of a completed task: record nothing, but the scheduler must see it to
		// acknowledge it.
		if ct := f.findCompleted(s.TaskID.Value); ct != nil && len(s.UUID) > 0 {
			ct.addStatus(s)
		}
	}
	m.sendUpdate(f, s)
}

// acknowledge forwards a scheduler's acknowledgement of an update to the agent that sent it.
func (m *Master) acknowledge(st *leaderState, f *framework, ack *mesos.Acknowledge) {
	a := st.agents[ack.AgentID.Value]
	if a == nil || a.conn == nil {
		m.log.Debug("acknowledgement for an agent not connected; dropped (the agent will retry the update)",
			"agent_id", ack.AgentID.Value, "task_id", ack.TaskID.Value)
		return
	}
	a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventAcknowledged, Acknowledged: &mesos.AgentAcknowledged{
		FrameworkID: mesos.ID{Value: f.id}, TaskID: ack.TaskID, UUID: ack.UUID,
	}})
}

// reconcile answers a RECONCILE call: the latest state of the listed tasks, or of all the
// framework's tasks when the list is empty. Answers carry no uuid and REASON_RECONCILIATION.
func (m *Master) reconcile(st *leaderState, f *framework, tasks []mesos.ReconcileTask) {
	now := m.now()
	if len(tasks) == 0 {
		for _, t := range f.tasks {
			m.sendUpdate(f, reconcileStatus(t, now))
		}
		for _, t := range f.unreachable {
			m.sendUpdate(f, reconcileStatus(t, now))
		}
		return
	}
	for _, rt := range tasks {
		if s, ok := m.reconcileOne(st, f, rt, now); ok {
			m.sendUpdate(f, s)
		}
	}
}

// reconcileOne returns the answer for one task of an explicit reconciliation, or false when the
// master cannot answer yet (the task may be on an agent still re-registering after a failover).
func (m *Master) reconcileOne(st *leaderState, f *framework, rt mesos.ReconcileTask, now time.Time) (mesos.TaskStatus, bool) {
	id := rt.TaskID.Value
	if t := f.tasks[id]; t != nil {
		return reconcileStatus(t, now), true
	}
	if t := f.unreachable[id]; t != nil {
		return reconcileStatus(t, now), true
	}
	if t := f.findCompleted(id); t != nil {
		return reconcileStatus(t, now), true
	}
	unknown := mesos.TaskLost
	if f.partitionAware() {
		unknown = mesos.TaskUnknown
	}
	s := mesos.TaskStatus{
		TaskID:    rt.TaskID,
		State:     unknown,
		Source:    mesos.SourceMaster,
		Reason:    mesos.ReasonReconciliation,
		Message:   "Reconciliation: Task is unknown",
		Timestamp: seconds(now),
	}
	if rt.AgentID == nil || rt.AgentID.Value == "" {
		if st.recoveredAgents() {
			return s, false
		}
		return s, true
	}
	s.AgentID = &mesos.ID{Value: rt.AgentID.Value}
	a := st.agents[rt.AgentID.Value]
	switch {
	case a == nil:
		s.Message = "Reconciliation: Task is unknown to the agent"
		if st.recoveredAgents() {
			return s, false
		}
	case a.recovered:
		return s, false
	case a.unreachable:
		s.State = mesos.TaskLost
		if f.partitionAware() {
			s.State = mesos.TaskUnreachable
		}
		s.Message = "Reconciliation: Task is unreachable"
		s.UnreachableTime = &mesos.TimeInfo{Nanoseconds: a.unreachableTime.UnixNano()}
	default:
		s.Message = "Reconciliation: Task is unknown to the agent"
	}
	return s, true
}

// reconcileStatus returns a task's latest state as a reconciliation answer: the latest status
// it received (its IPs and health included) without uuid.
func reconcileStatus(t *task, now time.Time) mesos.TaskStatus {
	var s mesos.TaskStatus
	if l := t.latest(); l != nil {
		s = *l
	}
	s.TaskID = t.info.TaskID
	s.State = t.state
	s.UUID = nil
	s.Source = mesos.SourceMaster
	s.Reason = mesos.ReasonReconciliation
	s.Message = "Reconciliation: Latest task state"
	s.AgentID = &mesos.ID{Value: t.agentID}
	s.Timestamp = seconds(now)
	if !t.unreachableTime.IsZero() {
		s.UnreachableTime = &mesos.TimeInfo{Nanoseconds: t.unreachableTime.UnixNano()}
	}
	return s
}

// kill asks the agent running a task to kill it. An unknown task is reconciled instead, as
// Mesos does.
func (m *Master) kill(st *leaderState, f *framework, k *mesos.Kill) {
	t := f.tasks[k.TaskID.Value]
	if t == nil {
		if f.unreachable[k.TaskID.Value] != nil {
			m.log.Info("cannot kill a task on an unreachable agent", "framework_id", f.id, "task_id", k.TaskID.Value)
			return
		}
		m.reconcile(st, f, []mesos.ReconcileTask{{TaskID: k.TaskID, AgentID: k.AgentID}})
		return
	}
	a := st.agents[t.agentID]
	if a == nil || a.conn == nil {
		m.log.Info("cannot kill a task on a disconnected agent yet", "framework_id", f.id, "task_id", k.TaskID.Value, "agent_id", t.agentID)
		return
	}
	policy := k.KillPolicy
	if policy == nil {
		policy = t.info.KillPolicy
	}
	a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventKill, Kill: &mesos.AgentKill{
		FrameworkID: mesos.ID{Value: f.id}, TaskID: t.info.TaskID, KillPolicy: policy,
	}})
}

// shutdownExecutor kills the tasks of an executor (a command task's executor ID is its task ID).
func (m *Master) shutdownExecutor(st *leaderState, f *framework, sh *mesos.Shutdown) {
	a := st.agents[sh.AgentID.Value]
	if a == nil || a.conn == nil {
		return
	}
	for _, t := range f.tasks {
		if t.agentID != a.id {
			continue
		}
		exec := t.info.TaskID.Value
		if t.info.Executor != nil {
			exec = t.info.Executor.ExecutorID.Value
		}
		if exec == sh.ExecutorID.Value {
			a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventKill, Kill: &mesos.AgentKill{
				FrameworkID: mesos.ID{Value: f.id}, TaskID: t.info.TaskID, KillPolicy: t.info.KillPolicy,
			}})
		}
	}
}
