package master

import (
	"cmp"
	"slices"
	"time"
)

// Registry garbage collection, as Mesos' --registry_max_agent_age and
// --registry_max_agent_count: an agent stays unreachable in the registry (etcd) and in memory
// until it comes back, which for a machine that is gone for good is never. The leader removes
// the unreachable agents older than Config.RegistryMaxAgentAge and, oldest first, those beyond
// Config.RegistryMaxAgentCount, with the unreachable tasks frameworks keep of them. Such an
// agent that comes back later is accepted as an unknown agent, as after a failover.

// unreachableAgent is an unreachable agent as the selection sees it.
type unreachableAgent struct {
	id    string
	since time.Time // wall clock: when it was marked unreachable
}

// agentsToRemove returns the ids of the unreachable agents to remove at now, oldest first:
// every agent unreachable for longer than maxAge, and the oldest ones beyond the newest
// maxCount. Agents of the same age are taken in id order.
func agentsToRemove(agents []unreachableAgent, now time.Time, maxAge time.Duration, maxCount int) []string {
	sorted := slices.Clone(agents)
	slices.SortFunc(sorted, func(a, b unreachableAgent) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	excess := len(sorted) - max(maxCount, 0)
	var out []string
	for i, a := range sorted {
		if i < excess || now.Sub(a.since) > maxAge {
			out = append(out, a.id)
		}
	}
	return out
}

// gcNeeded reports, in one cheap pass, whether some unreachable agent may have to go: more
// than maxCount of them, or one older than maxAge.
func gcNeeded(st *leaderState, now time.Time, maxAge time.Duration, maxCount int) bool {
	n := 0
	for _, a := range st.agents {
		if !a.unreachable {
			continue
		}
		n++
		if n > maxCount || now.Sub(a.unreachableTime) > maxAge {
			return true
		}
	}
	return false
}

// gcRegistry removes from the registry and from memory the unreachable agents that
// agentsToRemove selects, with their unreachable tasks, and returns how many it removed.
// m.mu must be held.
func (m *Master) gcRegistry(st *leaderState, now time.Time) int {
	maxAge, maxCount := m.cfg.RegistryMaxAgentAge, m.cfg.RegistryMaxAgentCount
	if !gcNeeded(st, now, maxAge, maxCount) {
		return 0
	}
	var unreachable []unreachableAgent
	for _, a := range st.agents {
		if a.unreachable {
			unreachable = append(unreachable, unreachableAgent{a.id, a.unreachableTime})
		}
	}
	ids := agentsToRemove(unreachable, now, maxAge, maxCount)
	for _, id := range ids {
		m.removeUnreachableAgent(st, st.agents[id], now)
	}
	if len(ids) > 0 {
		m.log.Info("removed unreachable agents from the registry", "agents", len(ids),
			"unreachable_left", len(unreachable)-len(ids), "max_age", maxAge, "max_count", maxCount)
	}
	return len(ids)
}

// removeUnreachableAgent forgets an unreachable agent: its registry entry, its in-memory record
// and the unreachable tasks frameworks keep of it. Frameworks that reconcile those tasks later
// are told TASK_UNKNOWN (partition-aware) or TASK_LOST, as for any task the master does not know.
func (m *Master) removeUnreachableAgent(st *leaderState, a *agent, now time.Time) {
	tasks := 0
	for _, f := range st.frameworks {
		for id, t := range f.unreachable {
			if t.agentID == a.id {
				delete(f.unreachable, id)
				tasks++
			}
		}
	}
	delete(st.agents, a.id)
	st.persist.del(agentsPrefix + a.id)
	m.log.Info("unreachable agent removed from the registry", "agent_id", a.id, "hostname", a.info.Hostname,
		"unreachable_for", now.Sub(a.unreachableTime).Round(time.Second), "unreachable_tasks", tasks)
}
