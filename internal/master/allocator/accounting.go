package allocator

import (
	"math"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// vec holds the scalar resources DRF weighs, in thousandths: cpus, mem, disk, gpus.
type vec [4]int64

var dims = [4]string{mesos.ResourceCPUs, mesos.ResourceMem, mesos.ResourceDisk, mesos.ResourceGPUs}

func vecOf(r mesos.Resources) vec {
	var v vec
	for i, name := range dims {
		v[i] = int64(math.Round(r.Scalar(name) * 1000))
	}
	return v
}

func (v vec) plus(o vec) vec {
	for i := range v {
		v[i] += o[i]
	}
	return v
}

func (v vec) minus(o vec) vec {
	for i := range v {
		v[i] -= o[i]
	}
	return v
}

// share is the dominant share of v in total: its largest fraction over the dimensions the
// cluster has any of.
func (v vec) share(total vec) float64 {
	s := 0.0
	for i := range v {
		if total[i] > 0 {
			s = max(s, float64(v[i])/float64(total[i]))
		}
	}
	return s
}

// agent is one agent's resources and what is allocated of them.
type agent struct {
	id     string
	total  mesos.Resources // canonical, never mutated
	totalV vec
	usedV  vec // sum of allocs' v
	active bool
	allocs []allocation // at most one per client, none empty
	free   mesos.Resources
	freeOK bool // free is total minus the allocations
}

// allocation is what one client holds on one agent. res is canonical and never mutated.
type allocation struct {
	c   *client
	res mesos.Resources
	v   vec
}

// client is a framework in one of its roles: what DRF orders within a role.
type client struct {
	fw    *framework
	role  *role
	usage vec
	share float64 // set while a Run orders clients
}

type framework struct {
	id         string
	registered bool // added by AddFramework, not only named by Allocate
	active     bool
	roles      []string
	suppressed map[string]bool
	filters    map[filterKey]time.Time // no offers of the agent in the role before this time
	clients    map[string]*client      // by role name
	usage      vec
}

// filterKey names what an offer filter holds back: an agent's offers in one of the framework's
// roles, as Mesos keeps filters per role.
type filterKey struct{ role, agent string }

type role struct {
	name    string
	weight  float64
	usage   vec
	clients int // the role is forgotten when its last client goes
}

func (ag *agent) allocOf(c *client) mesos.Resources {
	if i := slices.IndexFunc(ag.allocs, func(al allocation) bool { return al.c == c }); i >= 0 {
		return ag.allocs[i].res
	}
	return nil
}

func (ag *agent) used() mesos.Resources {
	var u mesos.Resources
	for _, al := range ag.allocs {
		u = u.Add(al.res)
	}
	return u
}

// freeRes returns the agent's free resources, shared: callers must not mutate them.
func (ag *agent) freeRes() mesos.Resources {
	if !ag.freeOK {
		ag.free = ag.total
		if len(ag.allocs) > 0 {
			ag.free = ag.total.Subtract(ag.used())
		}
		ag.freeOK = true
	}
	return ag.free
}

// allocatable reports whether the agent has the minimum Mesos offers: 0.01 cpus or 32 MB.
func (ag *agent) allocatable() bool {
	free := ag.totalV.minus(ag.usedV)
	return free[0] >= 10 || free[1] >= 32_000
}

// filtered reports whether c's framework must not be offered the agent in c's role at now,
// forgetting an expired filter.
func (c *client) filtered(agentID string, now time.Time) bool {
	k := filterKey{c.role.name, agentID}
	until, ok := c.fw.filters[k]
	if ok && now.Before(until) {
		return true
	}
	delete(c.fw.filters, k)
	return false
}

// setAlloc makes res (canonical) what c holds on ag, keeping every share in step.
func (a *Allocator) setAlloc(ag *agent, c *client, res mesos.Resources) {
	v := vecOf(res)
	i := slices.IndexFunc(ag.allocs, func(al allocation) bool { return al.c == c })
	var old vec
	if i >= 0 {
		old = ag.allocs[i].v
	}
	a.account(c, v.minus(old))
	ag.usedV = ag.usedV.plus(v.minus(old))
	switch {
	case len(res) == 0 && i >= 0:
		ag.allocs = slices.Delete(ag.allocs, i, i+1)
	case len(res) == 0:
	case i >= 0:
		ag.allocs[i] = allocation{c: c, res: res, v: v}
	default:
		ag.allocs = append(ag.allocs, allocation{c: c, res: res, v: v})
	}
	ag.freeOK = false
}

// account adds d to the usage of c, its framework and its role.
func (a *Allocator) account(c *client, d vec) {
	c.usage = c.usage.plus(d)
	c.fw.usage = c.fw.usage.plus(d)
	c.role.usage = c.role.usage.plus(d)
}

// framework returns the framework, recording it unregistered if it is new.
func (a *Allocator) framework(id string) *framework {
	fw := a.frameworks[id]
	if fw == nil {
		fw = &framework{id: id, suppressed: map[string]bool{}, filters: map[filterKey]time.Time{}, clients: map[string]*client{}}
		a.frameworks[id] = fw
	}
	return fw
}

// client returns fw in role, creating the client and the role as needed.
func (a *Allocator) client(fw *framework, name string) *client {
	if c := fw.clients[name]; c != nil {
		return c
	}
	r := a.roles[name]
	if r == nil {
		r = &role{name: name, weight: 1}
		if w := a.weights[name]; w > 0 {
			r.weight = w
		}
		a.roles[name] = r
	}
	r.clients++
	c := &client{fw: fw, role: r}
	fw.clients[name] = c
	return c
}
