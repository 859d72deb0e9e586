package allocator

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Options configure an Allocator.
type Options struct {
	// RoleWeights weigh roles' shares: a role of weight 2 gets twice the resources of a role of
	// weight 1. Roles not listed, or with a weight that is not positive, weigh 1.
	RoleWeights map[string]float64
}

// Offer is all of one agent's free resources, offered to one framework in one of its roles.
type Offer struct {
	FrameworkID, AgentID, Role string
	Resources                  mesos.Resources // carrying AllocationInfo{Role}
}

// Allocator keeps the cluster's resource accounting and makes offers by weighted DRF. It is not
// safe for concurrent use: the master calls it under its own lock.
type Allocator struct {
	weights    map[string]float64
	agents     map[string]*agent
	sorted     []*agent // by ID: the order Run visits agents in, rotated by one each pass
	frameworks map[string]*framework
	roles      map[string]*role
	total      vec
	pass       int
}

// New returns an empty Allocator.
func New(opts Options) *Allocator {
	return &Allocator{
		weights:    maps.Clone(opts.RoleWeights),
		agents:     map[string]*agent{},
		frameworks: map[string]*framework{},
		roles:      map[string]*role{},
	}
}

func compareAgents(x *agent, id string) int { return strings.Compare(x.id, id) }

// AddAgent adds an active agent with the given total resources. Adding a known agent updates
// its total and keeps its allocations.
func (a *Allocator) AddAgent(agentID string, total mesos.Resources) {
	total = total.Add(nil)
	ag := a.agents[agentID]
	if ag == nil {
		ag = &agent{id: agentID, active: true}
		a.agents[agentID] = ag
		i, _ := slices.BinarySearchFunc(a.sorted, agentID, compareAgents)
		a.sorted = slices.Insert(a.sorted, i, ag)
	}
	v := vecOf(total)
	a.total = a.total.plus(v.minus(ag.totalV))
	ag.total, ag.totalV, ag.freeOK = total, v, false
}

// RemoveAgent forgets an agent, everything allocated on it and every filter naming it.
func (a *Allocator) RemoveAgent(agentID string) {
	ag := a.agents[agentID]
	if ag == nil {
		return
	}
	for _, al := range ag.allocs {
		a.account(al.c, vec{}.minus(al.v))
	}
	a.total = a.total.minus(ag.totalV)
	delete(a.agents, agentID)
	i, _ := slices.BinarySearchFunc(a.sorted, agentID, compareAgents)
	a.sorted = slices.Delete(a.sorted, i, i+1)
	for _, fw := range a.frameworks {
		maps.DeleteFunc(fw.filters, func(k filterKey, _ time.Time) bool { return k.agent == agentID })
	}
}

// ActivateAgent lets the agent's free resources be offered again.
func (a *Allocator) ActivateAgent(agentID string) { a.setAgentActive(agentID, true) }

// DeactivateAgent stops offers of the agent's resources; its allocations stay.
func (a *Allocator) DeactivateAgent(agentID string) { a.setAgentActive(agentID, false) }

func (a *Allocator) setAgentActive(agentID string, active bool) {
	if ag := a.agents[agentID]; ag != nil {
		ag.active = active
	}
}

// AddFramework adds an active framework subscribed in roles ("*" when none), suppressed in
// suppressedRoles. Adding a known framework updates its roles and suppression and activates it;
// its allocations and filters stay.
func (a *Allocator) AddFramework(frameworkID string, roles []string, suppressedRoles []string) {
	fw := a.framework(frameworkID)
	fw.registered, fw.active = true, true
	fw.roles = slices.Compact(slices.Sorted(slices.Values(roles)))
	if len(fw.roles) == 0 {
		fw.roles = []string{"*"}
	}
	for _, name := range fw.roles {
		a.client(fw, name)
	}
	clear(fw.suppressed)
	for _, name := range suppressedRoles {
		fw.suppressed[name] = true
	}
}

// RemoveFramework forgets a framework and everything allocated to it.
func (a *Allocator) RemoveFramework(frameworkID string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	for _, ag := range a.sorted {
		for _, c := range fw.clients {
			if len(ag.allocOf(c)) > 0 {
				a.setAlloc(ag, c, nil)
			}
		}
	}
	for name, c := range fw.clients {
		if c.role.clients--; c.role.clients == 0 {
			delete(a.roles, name)
		}
	}
	delete(a.frameworks, frameworkID)
}

// ActivateFramework lets the framework be offered resources again.
func (a *Allocator) ActivateFramework(frameworkID string) { a.setFrameworkActive(frameworkID, true) }

// DeactivateFramework stops offers to the framework; its allocations stay.
func (a *Allocator) DeactivateFramework(frameworkID string) {
	a.setFrameworkActive(frameworkID, false)
}

func (a *Allocator) setFrameworkActive(frameworkID string, active bool) {
	if fw := a.frameworks[frameworkID]; fw != nil {
		fw.active = active
	}
}

// Allocate records r as used on the agent by the framework in role, as for the tasks an agent
// reports when it re-registers after a master failover. It may exceed the agent's free
// resources: nothing is clamped. The framework need not be added yet; an unknown agent is
// ignored.
func (a *Allocator) Allocate(agentID, frameworkID, role string, r mesos.Resources) {
	ag := a.agents[agentID]
	if ag == nil {
		return
	}
	c := a.client(a.framework(frameworkID), role)
	a.setAlloc(ag, c, ag.allocOf(c).Add(r))
}

// Recover returns r, allocated on the agent to the framework, to the agent's free resources: a
// declined or rescinded offer, the unused remainder of an accepted one, or a terminal task's
// resources. Each resource is taken back from the role its AllocationInfo names, then from the
// framework's other roles on that agent; what the framework does not hold is ignored.
func (a *Allocator) Recover(agentID, frameworkID string, r mesos.Resources) {
	ag, fw := a.agents[agentID], a.frameworks[frameworkID]
	if ag == nil || fw == nil {
		return
	}
	roles, parts := splitByRole(r)
	for _, name := range roles {
		rest := parts[name]
		for _, c := range a.holders(ag, fw, name) {
			held := ag.allocOf(c)
			kept := held.Subtract(rest)
			a.setAlloc(ag, c, kept)
			if rest = rest.Subtract(held.Subtract(kept)); len(rest) == 0 {
				break
			}
		}
	}
}

// splitByRole groups r by the role in its AllocationInfo ("" when none), roles in order of
// first appearance.
func splitByRole(r mesos.Resources) ([]string, map[string]mesos.Resources) {
	var roles []string
	parts := map[string]mesos.Resources{}
	for _, res := range r {
		name := ""
		if res.AllocationInfo != nil {
			name = res.AllocationInfo.Role
		}
		if _, ok := parts[name]; !ok {
			roles = append(roles, name)
		}
		parts[name] = append(parts[name], res)
	}
	return roles, parts
}

// holders returns fw's clients holding resources on ag: the one in role first, then by role.
func (a *Allocator) holders(ag *agent, fw *framework, role string) []*client {
	var cs []*client
	for _, al := range ag.allocs {
		if al.c.fw == fw {
			cs = append(cs, al.c)
		}
	}
	slices.SortFunc(cs, func(x, y *client) int {
		if (x.role.name == role) != (y.role.name == role) {
			if x.role.name == role {
				return -1
			}
			return 1
		}
		return strings.Compare(x.role.name, y.role.name)
	})
	return cs
}

// Filter stops offers of the agent to the framework in role before until.
func (a *Allocator) Filter(frameworkID, role, agentID string, until time.Time) {
	k := filterKey{role, agentID}
	if fw := a.frameworks[frameworkID]; fw != nil && until.After(fw.filters[k]) {
		fw.filters[k] = until
	}
}

// Suppress stops offers to the framework in roles (all its roles when empty).
func (a *Allocator) Suppress(frameworkID string, roles []string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	if len(roles) == 0 {
		roles = fw.roles
	}
	for _, name := range roles {
		fw.suppressed[name] = true
	}
}

// Revive resumes offers to the framework in roles (all its roles when empty) and clears its
// filters in those roles.
func (a *Allocator) Revive(frameworkID string, roles []string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	if len(roles) == 0 {
		clear(fw.suppressed)
		clear(fw.filters)
		return
	}
	for _, name := range roles {
		delete(fw.suppressed, name)
	}
	maps.DeleteFunc(fw.filters, func(k filterKey, _ time.Time) bool { return slices.Contains(roles, k.role) })
}

// Free returns the agent's resources not allocated to any framework.
func (a *Allocator) Free(agentID string) mesos.Resources {
	if ag := a.agents[agentID]; ag != nil {
		return ag.freeRes().Clone()
	}
	return nil
}

// Used returns the agent's resources allocated to frameworks, outstanding offers included.
func (a *Allocator) Used(agentID string) mesos.Resources {
	if ag := a.agents[agentID]; ag != nil {
		return ag.used()
	}
	return nil
}

// Total returns the agent's total resources.
func (a *Allocator) Total(agentID string) mesos.Resources {
	if ag := a.agents[agentID]; ag != nil {
		return ag.total.Clone()
	}
	return nil
}

// DominantShare returns the framework's dominant share of the cluster over all its roles.
func (a *Allocator) DominantShare(frameworkID string) float64 {
	if fw := a.frameworks[frameworkID]; fw != nil {
		return fw.usage.share(a.total)
	}
	return 0
}
