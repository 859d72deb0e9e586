package allocator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// checkInvariants fails t unless every piece of a's accounting agrees with its allocations and
// nothing refers to a removed agent, framework or role. With withinTotal, it also checks that
// what is allocated on each agent fits in its total.
func checkInvariants(t *testing.T, a *Allocator, withinTotal bool) {
	t.Helper()
	if len(a.sorted) != len(a.agents) || !slices.IsSortedFunc(a.sorted, func(x, y *agent) int { return strings.Compare(x.id, y.id) }) {
		t.Fatalf("agent order out of step: %d sorted, %d known", len(a.sorted), len(a.agents))
	}
	var total vec
	usage := map[*client]vec{}
	for _, ag := range a.sorted {
		if a.agents[ag.id] != ag {
			t.Fatalf("agent %s sorted but not known", ag.id)
		}
		if ag.totalV != vecOf(ag.total) {
			t.Fatalf("agent %s: total vec %v, want %v", ag.id, ag.totalV, vecOf(ag.total))
		}
		total = total.plus(ag.totalV)
		var used vec
		seen := map[*client]bool{}
		for _, al := range ag.allocs {
			c := al.c
			if seen[c] || len(al.res) == 0 || al.v != vecOf(al.res) {
				t.Fatalf("agent %s: bad allocation %+v", ag.id, al)
			}
			if a.frameworks[c.fw.id] != c.fw || c.fw.clients[c.role.name] != c || a.roles[c.role.name] != c.role {
				t.Fatalf("agent %s: dangling allocation to %s/%s", ag.id, c.fw.id, c.role.name)
			}
			seen[c] = true
			used = used.plus(al.v)
			usage[c] = usage[c].plus(al.v)
		}
		if used != ag.usedV {
			t.Fatalf("agent %s: used vec %v, allocations sum to %v", ag.id, ag.usedV, used)
		}
		if ag.freeOK && !ag.free.Equal(ag.total.Subtract(ag.used())) {
			t.Fatalf("agent %s: stale free %v", ag.id, ag.free)
		}
		if withinTotal && (!ag.total.Contains(ag.used()) || !a.Free(ag.id).Add(a.Used(ag.id)).Equal(ag.total)) {
			t.Fatalf("agent %s: allocated %v does not fit in total %v", ag.id, ag.used(), ag.total)
		}
	}
	if total != a.total {
		t.Fatalf("cluster total %v, agents sum to %v", a.total, total)
	}
	roleUsage, roleClients := map[*role]vec{}, map[*role]int{}
	for id, fw := range a.frameworks {
		var fwUsage vec
		for name, c := range fw.clients {
			if fw.id != id || c.fw != fw || c.role.name != name || c.usage != usage[c] {
				t.Fatalf("client %s/%s: usage %v, allocations sum to %v", id, name, c.usage, usage[c])
			}
			fwUsage = fwUsage.plus(c.usage)
			roleUsage[c.role] = roleUsage[c.role].plus(c.usage)
			roleClients[c.role]++
		}
		if fwUsage != fw.usage {
			t.Fatalf("framework %s: usage %v, clients sum to %v", id, fw.usage, fwUsage)
		}
	}
	for name, r := range a.roles {
		if r.name != name || r.clients != roleClients[r] || r.clients == 0 || r.usage != roleUsage[r] {
			t.Fatalf("role %s: %d clients, usage %v; want %d clients, usage %v", name, r.clients, r.usage, roleClients[r], roleUsage[r])
		}
	}
}

// held returns what the framework holds on the agent according to the allocator.
func held(a *Allocator, agentID, frameworkID string) mesos.Resources {
	var r mesos.Resources
	for _, al := range a.agents[agentID].allocs {
		if al.c.fw.id == frameworkID {
			r = r.Add(al.res)
		}
	}
	return r
}

// part returns a random part of r.
func part(rnd *rand.Rand, r mesos.Resources) mesos.Resources {
	var out mesos.Resources
	for _, res := range r {
		switch {
		case res.Scalar != nil:
			out = append(out, mesos.ScalarResource(res.Name, math.Floor(res.Scalar.Value*rnd.Float64()*1000)/1000))
		case res.Ranges != nil && len(res.Ranges.Range) > 0:
			rg := res.Ranges.Range[rnd.IntN(len(res.Ranges.Range))]
			b := rg.Begin + rnd.Uint64N(rg.End-rg.Begin+1)
			out = append(out, mesos.RangesResource(res.Name, mesos.Range{Begin: b, End: b + rnd.Uint64N(rg.End-b+1)}))
		}
	}
	return out
}

type holding struct {
	agentID, frameworkID string
	r                    mesos.Resources
}

// TestRandomOperations drives the allocator with random operations, checking after each that
// the accounting is consistent and matches a model of what every framework holds on every agent.
func TestRandomOperations(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomOperations(t, seed, 500) })
	}
}

func randomOperations(t *testing.T, seed uint64, steps int) {
	rnd := rand.New(rand.NewPCG(seed, seed))
	a := New(Options{RoleWeights: map[string]float64{"r1": 2, "r2": 0.5}})
	now := t0
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, rnd.IntN(n)) }
	roles := func() []string {
		var rs []string
		for _, r := range []string{"r1", "r2", "r3"} {
			if rnd.IntN(2) == 0 {
				rs = append(rs, r)
			}
		}
		return rs
	}
	extra := func() mesos.Resources {
		return mesos.Resources{
			mesos.ScalarResource("cpus", float64(rnd.IntN(8000))/1000),
			mesos.ScalarResource("mem", float64(rnd.IntN(16384))),
			mesos.ScalarResource("gpus", float64(rnd.IntN(2))),
			mesos.RangesResource("ports", mesos.Range{Begin: 31000 + 100*rnd.Uint64N(10), End: 31000 + 100*rnd.Uint64N(10) + 50}),
		}
	}
	model := map[[2]string]mesos.Resources{}
	var offers, tasks []holding
	give := func(h holding) { k := [2]string{h.agentID, h.frameworkID}; model[k] = model[k].Add(h.r) }
	take := func(h holding) {
		a.Recover(h.agentID, h.frameworkID, h.r)
		k := [2]string{h.agentID, h.frameworkID}
		model[k] = model[k].Subtract(h.r)
	}
	// forget drops the holdings of a removed agent or framework.
	forget := func(drop func(agentID, frameworkID string) bool) {
		for k := range model {
			if drop(k[0], k[1]) {
				delete(model, k)
			}
		}
		offers = slices.DeleteFunc(offers, func(h holding) bool { return drop(h.agentID, h.frameworkID) })
		tasks = slices.DeleteFunc(tasks, func(h holding) bool { return drop(h.agentID, h.frameworkID) })
	}
	takeOne := func(hs *[]holding) (holding, bool) {
		if len(*hs) == 0 {
			return holding{}, false
		}
		i := rnd.IntN(len(*hs))
		h := (*hs)[i]
		*hs = slices.Delete(*hs, i, i+1)
		return h, true
	}
	for step := range steps {
		now = now.Add(time.Duration(rnd.IntN(3000)) * time.Millisecond)
		var op string
		switch rnd.IntN(14) {
		case 0:
			id := pick("a", 8)
			op = "add agent " + id
			a.AddAgent(id, a.Used(id).Add(extra()))
		case 1:
			id := pick("a", 8)
			op = "remove agent " + id
			a.RemoveAgent(id)
			forget(func(agentID, _ string) bool { return agentID == id })
		case 2:
			id := pick("f", 5)
			op = "add framework " + id
			a.AddFramework(id, roles(), roles())
		case 3:
			id := pick("f", 6)
			op = "remove framework " + id
			a.RemoveFramework(id)
			forget(func(_, frameworkID string) bool { return frameworkID == id })
		case 4:
			op = "toggle"
			a.DeactivateAgent(pick("a", 8))
			a.ActivateAgent(pick("a", 8))
			a.DeactivateFramework(pick("f", 5))
			a.ActivateFramework(pick("f", 5))
		case 5, 6, 7:
			op = "run"
			for _, o := range a.Run(now) {
				h := holding{o.AgentID, o.FrameworkID, o.Resources}
				give(h)
				offers = append(offers, h)
			}
		case 8:
			op = "decline"
			if h, ok := takeOne(&offers); ok {
				take(h)
				a.Filter(h.frameworkID, pick("r", 4), h.agentID, now.Add(time.Duration(rnd.IntN(5))*time.Second))
			}
		case 9:
			op = "accept"
			if h, ok := takeOne(&offers); ok {
				task := part(rnd, h.r)
				take(holding{h.agentID, h.frameworkID, h.r.Subtract(task)})
				tasks = append(tasks, holding{h.agentID, h.frameworkID, task})
			}
		case 10:
			op = "task ends"
			if h, ok := takeOne(&tasks); ok {
				take(h)
			}
		case 11:
			agentID, frameworkID := pick("a", 8), pick("f", 6)
			op = "allocate on " + agentID
			if free := a.Free(agentID); free != nil {
				h := holding{agentID, frameworkID, part(rnd, free)}
				a.Allocate(agentID, frameworkID, pick("r", 4), h.r)
				give(h)
				tasks = append(tasks, h)
			}
		case 12:
			op = "suppress, revive"
			a.Suppress(pick("f", 5), roles())
			a.Revive(pick("f", 5), roles())
		case 13:
			op = "filter"
			a.Filter(pick("f", 5), pick("r", 4), pick("a", 8), now.Add(time.Duration(rnd.IntN(10))*time.Second))
		}
		checkInvariants(t, a, true)
		for _, ag := range a.sorted {
			for fwID := range a.frameworks {
				if got, want := held(a, ag.id, fwID), model[[2]string{ag.id, fwID}]; !got.Equal(want) {
					t.Fatalf("step %d (%s): %s holds %v on %s, want %v", step, op, fwID, got, ag.id, want)
				}
			}
		}
	}
}
