package master

import (
	"net/http"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Agent maintenance, as Mesos 1.9+ does it through the operator API:
//
//   - DEACTIVATE_AGENT stops offers of an agent's resources (its outstanding offers are
//     rescinded); its tasks keep running. REACTIVATE_AGENT resumes offers.
//   - DRAIN_AGENT deactivates the agent and kills every task on it, each kill policy's grace
//     period capped at max_grace_period. The drain is DRAINING until no task is left on the
//     agent (every task reached a terminal state), then DRAINED. The agent stays deactivated
//     until REACTIVATE_AGENT, which also forgets the drain.
//
// Both states live in the agent's registry entry, so a new leader keeps them. A drain goes on
// after a failover: the agent's tasks are killed again when it re-registers.

// drainState is mesos.DrainState.
type drainState string

const (
	drainDraining drainState = "DRAINING"
	drainDrained  drainState = "DRAINED"
)

// reasonAgentDraining is the reason of the kill updates of a draining agent's tasks.
const reasonAgentDraining = "REASON_AGENT_DRAINING"

// agentDefaultKillGrace is the grace period an agent gives a task without a kill policy.
const agentDefaultKillGrace = 3 * time.Second

// drainConfig is mesos.DrainConfig.
type drainConfig struct {
	MaxGracePeriod *mesos.DurationInfo `json:"max_grace_period,omitempty"`
	MarkGone       bool                `json:"mark_gone"`
}

// drainInfo is mesos.DrainInfo, as GET_AGENTS, /master/state and the registry show it.
type drainInfo struct {
	State  drainState  `json:"state"`
	Config drainConfig `json:"config"`
}

func (d *drainInfo) clone() *drainInfo {
	if d == nil {
		return nil
	}
	c := *d
	if d.Config.MaxGracePeriod != nil {
		g := *d.Config.MaxGracePeriod
		c.Config.MaxGracePeriod = &g
	}
	return &c
}

// AgentRef names the agent of DEACTIVATE_AGENT and REACTIVATE_AGENT.
type AgentRef struct {
	AgentID mesos.ID `json:"agent_id"`
}

// DrainAgent is Call.DrainAgent. MarkGone is refused: Marina does not mark agents gone.
type DrainAgent struct {
	AgentID        mesos.ID            `json:"agent_id"`
	MaxGracePeriod *mesos.DurationInfo `json:"max_grace_period,omitempty"`
	MarkGone       bool                `json:"mark_gone,omitempty"`
}

// maintainAgent serves DRAIN_AGENT, DEACTIVATE_AGENT and REACTIVATE_AGENT. m.mu must be held.
func (m *Master) maintainAgent(st *leaderState, call *OperatorCall) error {
	switch call.Type {
	case OpDeactivateAgent:
		a, err := callAgent(st, "deactivate_agent", call.DeactivateAgent)
		if err != nil {
			return err
		}
		m.deactivateAgent(st, a)
		st.persistAgent(a)
		m.log.Info("agent deactivated", "agent_id", a.id, "hostname", a.info.Hostname)
	case OpReactivateAgent:
		a, err := callAgent(st, "reactivate_agent", call.ReactivateAgent)
		if err != nil {
			return err
		}
		m.reactivateAgent(st, a)
	case OpDrainAgent:
		d := call.DrainAgent
		var ref *AgentRef
		if d != nil {
			ref = &AgentRef{AgentID: d.AgentID}
		}
		a, err := callAgent(st, "drain_agent", ref)
		if err != nil {
			return err
		}
		return m.drainAgent(st, a, d)
	}
	return nil
}

// callAgent returns the agent a call names: 400 when it names none, 404 when it is unknown.
func callAgent(st *leaderState, field string, ref *AgentRef) (*agent, error) {
	if ref == nil || ref.AgentID.Value == "" {
		return nil, errorf(http.StatusBadRequest, "expecting '%s.agent_id' to be present", field)
	}
	a := st.agents[ref.AgentID.Value]
	if a == nil {
		return nil, errorf(http.StatusNotFound, "unknown agent %s", ref.AgentID.Value)
	}
	return a, nil
}

// deactivateAgent stops offers of a's resources and rescinds its outstanding offers.
func (m *Master) deactivateAgent(st *leaderState, a *agent) {
	if a.deactivated {
		return
	}
	a.deactivated = true
	if a.inAllocator() {
		st.alloc.DeactivateAgent(a.id)
		m.removeAgentOffers(st, a, true)
	}
}

// reactivateAgent resumes offers of a's resources and ends its drain, if any. Kills a drain
// already sent are not undone.
func (m *Master) reactivateAgent(st *leaderState, a *agent) {
	if !a.deactivated && a.drain == nil {
		return
	}
	a.deactivated, a.drain = false, nil
	if a.inAllocator() && a.conn != nil {
		st.alloc.ActivateAgent(a.id)
		m.triggerAllocation(st)
	}
	st.persistAgent(a)
	m.log.Info("agent reactivated", "agent_id", a.id, "hostname", a.info.Hostname)
}

// drainAgent deactivates a and kills its tasks. Draining an agent again restarts its drain
// with the new configuration.
func (m *Master) drainAgent(st *leaderState, a *agent, d *DrainAgent) error {
	if d.MarkGone {
		return errorf(http.StatusBadRequest, "drain_agent.mark_gone is not supported")
	}
	if g := d.MaxGracePeriod; g != nil && g.Nanoseconds < 0 {
		return errorf(http.StatusBadRequest, "drain_agent.max_grace_period must not be negative")
	}
	cfg := drainConfig{MaxGracePeriod: d.MaxGracePeriod}
	a.drain = &drainInfo{State: drainDraining, Config: cfg}
	m.deactivateAgent(st, a)
	m.log.Info("agent draining", "agent_id", a.id, "hostname", a.info.Hostname, "tasks", len(a.tasks))
	m.resumeDrain(st, a)
	st.persistAgent(a)
	return nil
}

// resumeDrain kills the tasks of a draining, connected agent and marks it DRAINED once none is
// left. Called when the drain starts and whenever the agent (re-)registers.
func (m *Master) resumeDrain(st *leaderState, a *agent) {
	if a.drain == nil || a.drain.State != drainDraining || a.conn == nil {
		return
	}
	for _, t := range a.tasks {
		if t.state.Terminal() {
			continue
		}
		a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventKill, Kill: &mesos.AgentKill{
			FrameworkID: mesos.ID{Value: t.frameworkID}, TaskID: t.info.TaskID,
			KillPolicy: cappedKillPolicy(t.info.KillPolicy, a.drain.Config.MaxGracePeriod),
		}})
	}
	m.checkDrained(st, a)
}

// checkDrained marks a draining agent DRAINED once it is connected and runs no task.
func (m *Master) checkDrained(st *leaderState, a *agent) {
	if a.drain == nil || a.drain.State != drainDraining || a.conn == nil || !a.inAllocator() || len(a.tasks) > 0 {
		return
	}
	a.drain.State = drainDrained
	st.persistAgent(a)
	m.log.Info("agent drained", "agent_id", a.id, "hostname", a.info.Hostname)
}

// cappedKillPolicy returns p with its grace period at most limit (nil: no limit). A task
// without a grace period gets the agent's default, capped.
func cappedKillPolicy(p *mesos.KillPolicy, limit *mesos.DurationInfo) *mesos.KillPolicy {
	if limit == nil {
		return p
	}
	grace := agentDefaultKillGrace.Nanoseconds()
	if p != nil && p.GracePeriod != nil {
		grace = p.GracePeriod.Nanoseconds
	}
	if grace <= limit.Nanoseconds {
		return p
	}
	return &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: limit.Nanoseconds}}
}

// drainReason gives the kill updates of a draining agent's tasks REASON_AGENT_DRAINING, as
// Mesos agents do.
func drainReason(a *agent, s *mesos.TaskStatus) {
	if a.drain == nil {
		return
	}
	switch s.State {
	case mesos.TaskKilling, mesos.TaskKilled:
		s.Reason = reasonAgentDraining
	}
}
