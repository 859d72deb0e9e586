package master

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestAgentsToRemove(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	agents := []unreachableAgent{ // not in age order
		{"b", ago(3 * day)},
		{"d", ago(time.Hour)},
		{"a", ago(20 * day)},
		{"c", ago(3 * day)},
		{"e", now},
	}
	tests := []struct {
		name     string
		agents   []unreachableAgent
		maxAge   time.Duration
		maxCount int
		want     []string
	}{
		{"none", nil, day, 10, nil},
		{"all young, few", agents, 30 * day, 10, nil},
		{"by age", agents, 14 * day, 10, []string{"a"}},
		{"by age, ties in id order", agents, 2 * day, 10, []string{"a", "b", "c"}},
		{"exactly max age stays", agents, 20 * day, 10, nil},
		{"by count, oldest first", agents, 30 * day, 3, []string{"a", "b"}},
		{"count equal to agents", agents, 30 * day, 5, nil},
		{"count zero removes all", agents, 30 * day, 0, []string{"a", "b", "c", "d", "e"}},
		{"age and count together", agents, 2 * day, 1, []string{"a", "b", "c", "d"}},
		{"age beyond count", agents, 30 * time.Minute, 4, []string{"a", "b", "c", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.agents)
			got := agentsToRemove(tc.agents, now, tc.maxAge, tc.maxCount)
			if !slices.Equal(got, tc.want) {
				t.Errorf("agentsToRemove = %v, want %v", got, tc.want)
			}
			if !slices.Equal(in, tc.agents) {
				t.Error("agentsToRemove reordered its input")
			}
		})
	}
}

// registryAgentIDs returns the agent ids the registry in etcd holds.
func registryAgentIDs(t *testing.T, c *coord.Coord) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := coord.List(ctx, c.Client, agentsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// slaveIDs returns the ids of the agents /master/slaves lists.
func slaveIDs(t *testing.T, m *Master) []string {
	t.Helper()
	var doc struct {
		Slaves          []slaveDoc `json:"slaves"`
		RecoveredSlaves []slaveDoc `json:"recovered_slaves"`
	}
	getJSON(t, m, "/master/slaves", &doc)
	var ids []string
	for _, s := range append(doc.Slaves, doc.RecoveredSlaves...) {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestRegistryGC: with a tiny RegistryMaxAgentAge, an agent marked unreachable is removed from
// memory and from etcd right after; frameworks that reconcile its tasks hear TASK_LOST (not
// partition-aware) or TASK_UNKNOWN (partition-aware); the agent may come back with its id.
func TestRegistryGC(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", func(c *Config) {
		c.AgentTimeout = time.Second
		c.RegistryMaxAgentAge = time.Millisecond
	})
	waitLeader(t, m)
	sim := startSim(t, 1, "", nil, m)
	id := sim.AgentIDs()[0]
	s, pa := runPlainAndPartitionAware(t, m)
	ctx := context.Background()
	if got := registryAgentIDs(t, e[0]); !slices.Equal(got, []string{id}) {
		t.Fatalf("registry holds %v, want [%s]", got, id)
	}

	sim.StopAgent(0)
	next(t, s, isUpdate("plain.1", mesos.TaskLost))
	next(t, pa, isUpdate("pa.1", mesos.TaskUnreachable))
	testutil.WaitFor(t, 5*time.Second, func() error {
		var st stateDoc
		getJSON(t, m, "/master/state", &st)
		if *st.UnreachableSlaves != 0 || len(st.Slaves) != 0 {
			return fmt.Errorf("unreachable_slaves %d, slaves %d", *st.UnreachableSlaves, len(st.Slaves))
		}
		for _, f := range st.Frameworks {
			if len(f.Unreachable) != 0 {
				return fmt.Errorf("framework %s keeps %d unreachable tasks", f.Name, len(f.Unreachable))
			}
		}
		if ids := slaveIDs(t, m); len(ids) != 0 {
			return fmt.Errorf("/master/slaves lists %v", ids)
		}
		if ids := registryAgentIDs(t, e[0]); len(ids) != 0 {
			return fmt.Errorf("registry holds %v", ids)
		}
		return nil
	})

	agentID := &mesos.ID{Value: id}
	if err := s.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "plain.1"}, AgentID: agentID}); err != nil {
		t.Fatal(err)
	}
	if err := pa.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "pa.1"}, AgentID: agentID}); err != nil {
		t.Fatal(err)
	}
	isReconciled := func(task string, state mesos.TaskState) func(mesos.Event) bool {
		return func(ev mesos.Event) bool {
			return isUpdate(task, state)(ev) && ev.Update.Status.Reason == mesos.ReasonReconciliation
		}
	}
	next(t, s, isReconciled("plain.1", mesos.TaskLost))
	next(t, pa, isReconciled("pa.1", mesos.TaskUnknown))

	// The removed agent comes back: accepted as an unknown agent, with its id.
	sim.StartAgent(0)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if ids := slaveIDs(t, m); !slices.Equal(ids, []string{id}) {
			return fmt.Errorf("/master/slaves lists %v, want [%s]", ids, id)
		}
		if ids := registryAgentIDs(t, e[0]); !slices.Equal(ids, []string{id}) {
			return fmt.Errorf("registry holds %v, want [%s]", ids, id)
		}
		return nil
	})
	checkAccounting(t, m)
}

// TestRegistryGCAfterFailover: the time an agent became unreachable is in the registry, so a new
// leader counts the agent's age from it, not from its own election, and removes the agent at once.
func TestRegistryGCAfterFailover(t *testing.T) {
	e := startEtcd(t, 1)
	m1 := startMaster(t, e[0], "m1", func(c *Config) { c.AgentTimeout = time.Second })
	waitLeader(t, m1)
	sim := startSim(t, 2, "", nil, m1)
	ids := sim.AgentIDs()
	sim.StopAgent(0)
	testutil.WaitFor(t, 10*time.Second, func() error {
		m1.mu.Lock()
		defer m1.mu.Unlock()
		a := m1.st.agents[ids[0]]
		if a == nil || !a.unreachable {
			return fmt.Errorf("agent %s not unreachable yet", ids[0])
		}
		if n := m1.st.persist.pendingWrites(); n > 0 {
			return fmt.Errorf("%d registry writes pending", n)
		}
		return nil
	})
	sim.Close()
	m1.Close()

	// The next leader's clock is 15 days later: past the default RegistryMaxAgentAge (2 weeks)
	// for the unreachable agent, while the other one awaits re-registration.
	cfg := testConfig(t, e[0], "m2")
	cfg.AgentReregisterTimeout = time.Minute
	m2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	later := 15 * 24 * time.Hour
	m2.now = func() time.Time { return time.Now().Add(later) }
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m2.Close() })
	waitLeader(t, m2)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if got := registryAgentIDs(t, e[0]); !slices.Equal(got, []string{ids[1]}) {
			return fmt.Errorf("registry holds %v, want [%s]", got, ids[1])
		}
		var st stateDoc
		getJSON(t, m2, "/master/state", &st)
		if *st.UnreachableSlaves != 0 {
			return fmt.Errorf("unreachable_slaves %d", *st.UnreachableSlaves)
		}
		return nil
	})
	if got := slaveIDs(t, m2); !slices.Equal(got, []string{ids[1]}) {
		t.Errorf("/master/slaves lists %v, want the recovered agent %s", got, ids[1])
	}
}
