package master

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// activeAgents returns how many agents the master has active, or an error when it does not lead.
func activeAgents(m *Master) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		return 0, errors.New("not leading")
	}
	n := 0
	for _, a := range m.st.agents {
		if a.active() {
			n++
		}
	}
	return n, nil
}

// TestLeaderFailover: three masters, each on its own etcd member. The leader stops; another
// takes over within seconds from the registry, agents re-register with their tasks, the
// framework re-subscribes with the same id and reconciliation reports its task RUNNING.
func TestLeaderFailover(t *testing.T) {
	es := startEtcd(t, 3)
	ms := make([]*Master, 3)
	for i := range ms {
		ms[i] = startMaster(t, es[i], fmt.Sprintf("m%d", i), nil)
	}
	leader := waitLeader(t, ms...)
	testutil.WaitFor(t, 5*time.Second, func() error {
		for _, m := range ms {
			if m.Leader() != leader.URL() {
				return fmt.Errorf("%s sees leader %q", m.URL(), m.Leader())
			}
		}
		return nil
	})
	sim := startSim(t, 2, "", nil, ms...)
	c, s := subscribe(t, mesos.FrameworkInfo{Name: "f", FailoverTimeout: failover(3600)}, "", ms...)
	ctx := context.Background()
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Launch(ctx, o.ID, newTaskInfo("web.1", o, "cpus:1;mem:128;ports:[31005-31005]")); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "web.1", mesos.TaskRunning))
	fwID := c.FrameworkID()
	testutil.WaitFor(t, 5*time.Second, func() error {
		leader.mu.Lock()
		p := leader.st.persist
		leader.mu.Unlock()
		if n := p.pendingWrites(); n > 0 {
			return fmt.Errorf("%d registry writes pending", n)
		}
		return nil
	})

	start := time.Now()
	leader.Close()
	var others []*Master
	for _, m := range ms {
		if m != leader {
			others = append(others, m)
		}
	}
	newLeader := waitLeader(t, others...)
	t.Logf("new leader after %v", time.Since(start))
	testutil.WaitFor(t, 10*time.Second, func() error {
		n, err := activeAgents(newLeader)
		if err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("%d agents re-registered", n)
		}
		return nil
	})
	t.Logf("agents re-registered after %v", time.Since(start))

	s = resubscribe(t, c)
	if s.FrameworkID() != fwID {
		t.Fatalf("re-subscribed as %s, want %s", s.FrameworkID(), fwID)
	}
	offered := false
	testutil.WaitFor(t, 10*time.Second, func() error {
		if err := s.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "web.1"}}); err != nil {
			return err
		}
		_, ok := nextWithin(s, time.Second, func(ev mesos.Event) bool {
			offered = offered || ev.Type == mesos.EventOffers
			return isUpdate("web.1", mesos.TaskRunning)(ev)
		})
		if !ok {
			return errors.New("no TASK_RUNNING answer")
		}
		return nil
	})
	t.Logf("task reconciled RUNNING after %v", time.Since(start))

	var st stateDoc
	getJSON(t, newLeader, "/master/state", &st)
	if len(st.Frameworks) != 1 || st.Frameworks[0].ID != fwID || len(st.Frameworks[0].Tasks) != 1 || st.Frameworks[0].Tasks[0].State != "TASK_RUNNING" {
		t.Errorf("new leader's frameworks: %+v", st.Frameworks)
	}
	if sim.Tasks() != 1 {
		t.Errorf("sim runs %d tasks", sim.Tasks())
	}
	checkAccounting(t, newLeader)
	// New work goes on: the leftover resources are offered again.
	if _, ok := nextWithin(s, 10*time.Second, isType(mesos.EventOffers)); !offered && !ok {
		t.Error("no offers from the new leader")
	}
}

// TestAgentUnreachable: an agent that goes silent is marked unreachable; its tasks are
// TASK_LOST for frameworks that are not partition-aware (killed when the agent returns) and
// TASK_UNREACHABLE for partition-aware ones (RUNNING again when it returns).
func TestAgentUnreachable(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", func(c *Config) { c.AgentTimeout = time.Second })
	waitLeader(t, m)
	sim := startSim(t, 1, "", nil, m)
	s, pa := runPlainAndPartitionAware(t, m)
	ctx := context.Background()

	sim.StopAgent(0)
	lost := next(t, s, isUpdate("plain.1", mesos.TaskLost)).Update.Status
	unr := next(t, pa, isUpdate("pa.1", mesos.TaskUnreachable)).Update.Status
	for _, st := range []mesos.TaskStatus{lost, unr} {
		if st.Reason != mesos.ReasonAgentRemoved || st.Source != mesos.SourceMaster || len(st.UUID) != 0 || st.UnreachableTime == nil {
			t.Errorf("unreachable update: %+v", st)
		}
	}
	var state stateDoc
	getJSON(t, m, "/master/state", &state)
	if *state.UnreachableSlaves != 1 || len(state.Slaves) != 0 {
		t.Errorf("unreachable_slaves %d, slaves %d", *state.UnreachableSlaves, len(state.Slaves))
	}
	if err := pa.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "pa.1"}}); err != nil {
		t.Fatal(err)
	}
	next(t, pa, isUpdate("pa.1", mesos.TaskUnreachable))
	checkAccounting(t, m)

	sim.StartAgent(0)
	next(t, pa, isUpdate("pa.1", mesos.TaskRunning))
	// Mesos kills the task it told a non-partition-aware framework was lost.
	next(t, s, ackingUpdate(t, s, "plain.1", mesos.TaskKilled))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := sim.Tasks(); n != 1 {
			return fmt.Errorf("sim runs %d tasks", n)
		}
		return nil
	})
	getJSON(t, m, "/master/state", &state)
	if *state.UnreachableSlaves != 0 || len(state.Slaves) != 1 {
		t.Errorf("after return: unreachable_slaves %d, slaves %d", *state.UnreachableSlaves, len(state.Slaves))
	}
	checkAccounting(t, m)
}

// TestRegistryRecovery: a new leader starts from the registry: its agents await
// re-registration (unreachable after AgentReregisterTimeout), its frameworks await
// re-subscription and keep their ids.
func TestRegistryRecovery(t *testing.T) {
	e := startEtcd(t, 1)
	addr1 := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	addr2 := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	m1 := startMaster(t, e[0], "m1", func(c *Config) { c.Listen = addr1 })
	waitLeader(t, m1)
	sim := startSimAt(t, 2, "", nil, "http://"+addr1, "http://"+addr2)
	c, s := subscribeAt(t, mesos.FrameworkInfo{Name: "f", Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}}, "", "http://"+addr1, "http://"+addr2)
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Launch(context.Background(), o.ID, newTaskInfo("t1", o, "cpus:1")); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "t1", mesos.TaskRunning))
	ids := sim.AgentIDs()
	stopped := 0
	if ids[0] == o.AgentID.Value {
		stopped = 1 // stop the agent without the task
	}
	sim.StopAgent(stopped)
	s.Close()
	m1.Close() // resigns and flushes the registry

	m2 := startMaster(t, e[0], "m2", func(c *Config) { c.Listen = addr2; c.AgentReregisterTimeout = time.Second })
	waitLeader(t, m2)
	var st stateDoc
	getJSON(t, m2, "/master/state", &st)
	if len(st.Frameworks) != 1 || st.Frameworks[0].ID != c.FrameworkID() || st.Frameworks[0].Connected {
		t.Fatalf("recovered frameworks: %+v", st.Frameworks)
	}
	// The running agent re-registers with its task; the stopped one becomes unreachable.
	testutil.WaitFor(t, 10*time.Second, func() error {
		getJSON(t, m2, "/master/state", &st)
		if len(st.Slaves) != 1 || *st.UnreachableSlaves != 1 || len(st.Frameworks[0].Tasks) != 1 {
			return fmt.Errorf("slaves %d, unreachable %d, tasks %d", len(st.Slaves), *st.UnreachableSlaves, len(st.Frameworks[0].Tasks))
		}
		return nil
	})
	s = resubscribe(t, c)
	if s.FrameworkID() != c.FrameworkID() {
		t.Fatalf("re-subscribed as %s", s.FrameworkID())
	}
	if err := s.Reconcile(context.Background(),
		mesos.ReconcileTask{TaskID: mesos.ID{Value: "t1"}},
		mesos.ReconcileTask{TaskID: mesos.ID{Value: "gone"}, AgentID: &mesos.ID{Value: ids[stopped]}}); err != nil {
		t.Fatal(err)
	}
	waitUpdates(t, s, map[string]mesos.TaskState{"t1": mesos.TaskRunning, "gone": mesos.TaskUnreachable})

	// The unreachable agent comes back.
	sim.StartAgent(stopped)
	testutil.WaitFor(t, 10*time.Second, func() error {
		getJSON(t, m2, "/master/state", &st)
		if len(st.Slaves) != 2 || *st.UnreachableSlaves != 0 {
			return fmt.Errorf("slaves %d, unreachable %d", len(st.Slaves), *st.UnreachableSlaves)
		}
		return nil
	})
	checkAccounting(t, m2)
}
