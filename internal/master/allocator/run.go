package allocator

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Run makes one allocation pass at now. It visits the active agents in ID order, starting one
// agent further each pass, and offers all of each agent's free resources (when they reach the
// Mesos minimum of 0.01 cpus or 32 MB) to the first client in DRF order that is active, not
// suppressed in that role and not filtered for the agent. What it offers is allocated at once,
// so later agents in the pass see the new shares.
func (a *Allocator) Run(now time.Time) []Offer {
	q := a.newQueue()
	n := len(a.sorted)
	if len(q.roles) == 0 || n == 0 {
		return nil
	}
	start := a.pass % n
	a.pass++
	var offers []Offer
	for i := range n {
		ag := a.sorted[(start+i)%n]
		if !ag.active || !ag.allocatable() {
			continue
		}
		ri, ci, ok := q.pick(ag.id, now)
		if !ok {
			continue
		}
		c := q.roles[ri].clients[ci]
		free := ag.freeRes()
		res := free
		if held := ag.allocOf(c); len(held) > 0 {
			res = held.Add(free)
		}
		a.setAlloc(ag, c, res)
		ag.free, ag.freeOK = nil, true // all of it is allocated now
		q.update(ri, ci)
		offers = append(offers, Offer{
			FrameworkID: c.fw.id,
			AgentID:     ag.id,
			Role:        c.role.name,
			Resources:   free.WithAllocationRole(c.role.name),
		})
	}
	return offers
}

// queue holds the clients a pass may offer to in DRF order: roles by weighted dominant share,
// within each role its frameworks by dominant share in that role, ties broken by name.
type queue struct {
	total vec
	roles []*roleQueue
}

type roleQueue struct {
	role    *role
	key     float64 // weighted dominant share
	clients []*client
}

func (a *Allocator) newQueue() *queue {
	q := &queue{total: a.total}
	byRole := map[*role]*roleQueue{}
	for _, fw := range a.frameworks {
		if !fw.registered || !fw.active {
			continue
		}
		for _, name := range fw.roles {
			if fw.suppressed[name] {
				continue
			}
			c := fw.clients[name]
			rq := byRole[c.role]
			if rq == nil {
				rq = &roleQueue{role: c.role, key: c.role.usage.share(a.total) / c.role.weight}
				byRole[c.role] = rq
				q.roles = append(q.roles, rq)
			}
			c.share = c.usage.share(a.total)
			rq.clients = append(rq.clients, c)
		}
	}
	slices.SortFunc(q.roles, compareRoles)
	for _, rq := range q.roles {
		slices.SortFunc(rq.clients, compareClients)
	}
	return q
}

func compareRoles(x, y *roleQueue) int {
	return cmp.Or(cmp.Compare(x.key, y.key), strings.Compare(x.role.name, y.role.name))
}

func compareClients(x, y *client) int {
	return cmp.Or(cmp.Compare(x.share, y.share), strings.Compare(x.fw.id, y.fw.id))
}

// pick returns the position of the first client that may be offered the agent at now.
func (q *queue) pick(agentID string, now time.Time) (ri, ci int, ok bool) {
	for ri, rq := range q.roles {
		for ci, c := range rq.clients {
			if !c.filtered(agentID, now) {
				return ri, ci, true
			}
		}
	}
	return 0, 0, false
}

// update re-sorts the client at (ri, ci) and its role after the client was allocated more.
// Shares only grow within a pass, so both only move back.
func (q *queue) update(ri, ci int) {
	rq := q.roles[ri]
	c := rq.clients[ci]
	c.share = c.usage.share(q.total)
	for ; ci+1 < len(rq.clients) && compareClients(rq.clients[ci+1], c) < 0; ci++ {
		rq.clients[ci], rq.clients[ci+1] = rq.clients[ci+1], c
	}
	rq.key = rq.role.usage.share(q.total) / rq.role.weight
	for ; ri+1 < len(q.roles) && compareRoles(q.roles[ri+1], rq) < 0; ri++ {
		q.roles[ri], q.roles[ri+1] = q.roles[ri+1], rq
	}
}
