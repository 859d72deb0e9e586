package services

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

func TestPlan(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	// mk makes instances: n of config cfg in state st, started at increasing times.
	seq := 0
	mk := func(n int, cfg string, st mesos.TaskState) []*instance {
		var out []*instance
		for range n {
			seq++
			in := &instance{TaskID: fmt.Sprintf("t%02d", seq), ConfigVersion: cfg, State: st, StagedAt: t0.Add(time.Duration(seq) * time.Second)}
			if st == mesos.TaskRunning {
				in.StartedAt = in.StagedAt
			}
			out = append(out, in)
		}
		return out
	}
	running, staging := mesos.TaskRunning, mesos.TaskStaging
	g := func(n int, minHealth, maxOver float64) goal {
		return goal{Instances: n, Config: "v2", MinHealth: minHealth, MaxOver: maxOver, KillSelection: "YOUNGEST_FIRST"}
	}
	tests := []struct {
		name   string
		goal   goal
		insts  func() []*instance
		launch int
		kill   int
		check  func(t *testing.T, insts, kill []*instance)
	}{
		{name: "create", goal: g(5, 1, 1), insts: func() []*instance { return nil }, launch: 5},
		{name: "steady", goal: g(3, 1, 1), insts: func() []*instance { return mk(3, "v2", running) }},
		{name: "scale up", goal: g(5, 1, 1), insts: func() []*instance { return mk(2, "v2", running) }, launch: 3},
		{name: "scale down kills youngest", goal: g(2, 1, 1), insts: func() []*instance { return mk(4, "v2", running) }, kill: 2,
			check: func(t *testing.T, insts, kill []*instance) {
				if !slices.Contains(kill, insts[3]) || !slices.Contains(kill, insts[2]) {
					t.Errorf("killed %v, want the two youngest", ids(kill))
				}
			}},
		{name: "scale down kills staging first", goal: g(2, 1, 1), insts: func() []*instance {
			return slices.Concat(mk(1, "v2", staging), mk(2, "v2", running))
		}, kill: 1,
			check: func(t *testing.T, insts, kill []*instance) {
				if kill[0] != insts[0] {
					t.Errorf("killed %v, want the staging one", ids(kill))
				}
			}},
		{name: "oldest first", goal: goal{Instances: 1, Config: "v2", MinHealth: 1, MaxOver: 1, KillSelection: "OLDEST_FIRST"},
			insts: func() []*instance { return mk(2, "v2", running) }, kill: 1,
			check: func(t *testing.T, insts, kill []*instance) {
				if kill[0] != insts[0] {
					t.Errorf("killed %v, want the oldest", ids(kill))
				}
			}},
		{name: "killing ones do not count", goal: g(2, 1, 1), insts: func() []*instance {
			in := mk(2, "v2", running)
			in[0].Kill = true
			return in
		}, launch: 1},
		{name: "unreachable within inactiveAfter counts", goal: goal{Instances: 2, Config: "v2", MinHealth: 1, MaxOver: 1, InactiveAfter: time.Minute},
			insts: func() []*instance {
				in := mk(2, "v2", running)
				in[0].Unreachable = t0.Add(time.Hour - time.Second)
				return in
			}},
		{name: "unreachable beyond inactiveAfter is replaced", goal: goal{Instances: 2, Config: "v2", MinHealth: 1, MaxOver: 1, InactiveAfter: time.Minute},
			insts: func() []*instance {
				in := mk(2, "v2", running)
				in[0].Unreachable = t0
				return in
			}, launch: 1},
		{name: "restart 1/1 starts all new", goal: g(4, 1, 1), insts: func() []*instance { return mk(4, "v1", running) }, launch: 4},
		{name: "restart 1/1 kills old as new run", goal: g(4, 1, 1), insts: func() []*instance {
			return slices.Concat(mk(4, "v1", running), mk(1, "v2", running), mk(3, "v2", staging))
		}, kill: 1},
		{name: "restart 1/0 goes one over", goal: g(4, 1, 0), insts: func() []*instance { return mk(4, "v1", running) }, launch: 1},
		{name: "restart 1/0 next step", goal: g(4, 1, 0), insts: func() []*instance {
			return slices.Concat(mk(4, "v1", running), mk(1, "v2", running))
		}, kill: 1, launch: 1},
		{name: "restart 0.5/0 kills half first", goal: g(4, 0.5, 0), insts: func() []*instance { return mk(4, "v1", running) }, kill: 2, launch: 2},
		{name: "restart 0.5/0 waits for new", goal: g(4, 0.5, 0), insts: func() []*instance {
			return slices.Concat(mk(2, "v1", running), mk(2, "v2", staging))
		}},
		{name: "restart kills old staging at once", goal: g(2, 1, 0), insts: func() []*instance {
			return slices.Concat(mk(1, "v1", staging), mk(2, "v1", running))
		}, kill: 1, launch: 1},
		{name: "restart to zero", goal: g(0, 1, 1), insts: func() []*instance { return mk(3, "v1", running) }, kill: 3},
		{name: "goal shrank during a restart", goal: g(2, 1, 1), insts: func() []*instance {
			return slices.Concat(mk(2, "v1", running), mk(4, "v2", running))
		}, kill: 4},
		{name: "checked apps wait for health", goal: goal{Instances: 2, Config: "v2", MinHealth: 1, MaxOver: 1, Checked: true}, insts: func() []*instance {
			return slices.Concat(mk(2, "v1", running), mk(2, "v2", running))
		}, kill: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insts := tt.insts()
			if tt.goal.Checked {
				for _, in := range insts {
					if in.ConfigVersion == "v1" {
						in.Healthy = new(true)
					}
				}
			}
			launch, kill := plan(tt.goal, insts, t0.Add(time.Hour))
			if launch != tt.launch || len(kill) != tt.kill {
				t.Fatalf("plan = launch %d, kill %v; want launch %d, kill %d", launch, ids(kill), tt.launch, tt.kill)
			}
			if tt.check != nil {
				tt.check(t, insts, kill)
			}
		})
	}
}

// TestPlanRestartKeepsCapacity simulates restarts step by step, every launched instance running
// before the next plan: the serving count never drops below minimumHealthCapacity and the
// restart finishes.
func TestPlanRestartKeepsCapacity(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	for _, c := range []struct {
		n                  int
		minHealth, maxOver float64
	}{{4, 1, 1}, {4, 1, 0}, {4, 0.5, 0}, {5, 0.6, 0.2}, {1, 0, 0}, {3, 0, 1}} {
		t.Run(fmt.Sprintf("%d-%v-%v", c.n, c.minHealth, c.maxOver), func(t *testing.T) {
			var insts []*instance
			for i := range c.n {
				insts = append(insts, &instance{TaskID: fmt.Sprintf("old%d", i), ConfigVersion: "v1", State: mesos.TaskRunning, StagedAt: t0})
			}
			g := goal{Instances: c.n, Config: "v2", MinHealth: c.minHealth, MaxOver: c.maxOver}
			minHealthy := int(float64(c.n)*c.minHealth + 0.999999)
			for step := 0; step < 100; step++ {
				launch, kill := plan(g, insts, t0)
				var next []*instance
				for _, in := range insts {
					if !slices.Contains(kill, in) {
						next = append(next, in)
					}
				}
				serving := 0
				for _, in := range next {
					if in.running() {
						serving++
					}
				}
				if serving < minHealthy {
					t.Fatalf("step %d: %d serving, minimum %d", step, serving, minHealthy)
				}
				for i := range launch {
					next = append(next, &instance{TaskID: fmt.Sprintf("new%d-%d", step, i), ConfigVersion: "v2", State: mesos.TaskRunning, StagedAt: t0})
				}
				insts = next
				if launch == 0 && len(kill) == 0 {
					break
				}
			}
			if len(insts) != c.n {
				t.Fatalf("%d instances at the end, want %d", len(insts), c.n)
			}
			for _, in := range insts {
				if in.ConfigVersion != "v2" {
					t.Fatalf("instance %s still runs the old version", in.TaskID)
				}
			}
		})
	}
}

func ids(insts []*instance) []string {
	var out []string
	for _, in := range insts {
		out = append(out, in.TaskID)
	}
	return out
}
