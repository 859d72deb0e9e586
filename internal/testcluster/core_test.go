package testcluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	os.Exit(m.Run())
}

// framework is a minimal test scheduler: it launches the tasks it is asked to on the first offers
// that fit, acknowledges every update, and records each task's latest state.
type framework struct {
	t      *testing.T
	client *scheduler.Client
	stream *scheduler.Stream
	states chan mesos.TaskStatus
	launch chan mesos.TaskInfo
}

func newFramework(t *testing.T, masters []string) *framework {
	timeout := 60.0
	return &framework{
		t: t,
		client: scheduler.New(scheduler.Config{Masters: masters, Framework: mesos.FrameworkInfo{
			User: "root", Name: "test", FailoverTimeout: &timeout,
			Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}},
		}}),
		states: make(chan mesos.TaskStatus, 100),
		launch: make(chan mesos.TaskInfo, 10),
	}
}

// subscribe (re)subscribes, retrying while no master leads, and serves the stream until it ends.
func (f *framework) subscribe(ctx context.Context, timeout time.Duration) {
	f.t.Helper()
	testutil.WaitFor(f.t, timeout, func() error {
		s, err := f.client.Subscribe(ctx)
		if err != nil {
			return err
		}
		f.stream = s
		return nil
	})
	go f.serve(ctx, f.stream)
}

func (f *framework) serve(ctx context.Context, s *scheduler.Stream) {
	for ev := range s.Events {
		switch ev.Type {
		case mesos.EventOffers:
			for _, o := range ev.Offers.Offers {
				select {
				case ti := <-f.launch:
					ti.AgentID = o.AgentID
					if err := s.Launch(ctx, o.ID, ti); err != nil {
						f.t.Errorf("launch: %v", err)
					}
				default:
					_ = s.Decline(ctx, []mesos.ID{o.ID}, nil)
				}
			}
		case mesos.EventUpdate:
			st := ev.Update.Status
			f.states <- st
			if err := s.Acknowledge(ctx, st); err != nil {
				f.t.Logf("acknowledge: %v", err)
			}
		}
	}
}

// waitState waits for an update of task id to state.
func (f *framework) waitState(id string, state mesos.TaskState, timeout time.Duration) mesos.TaskStatus {
	f.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case st := <-f.states:
			f.t.Logf("update: %s %s %s %s", st.TaskID.Value, st.State, st.Reason, st.Message)
			if st.TaskID.Value == id && st.State == state {
				return st
			}
		case <-deadline:
			f.t.Fatalf("task %s did not reach %s within %v", id, state, timeout)
		}
	}
}

func sleepTask(id string) mesos.TaskInfo {
	cmd := "sleep 600"
	return mesos.TaskInfo{
		Name:    id,
		TaskID:  mesos.ID{Value: id},
		Command: &mesos.CommandInfo{Value: &cmd},
		Resources: mesos.Resources{
			mesos.ScalarResource("cpus", 0.1),
			mesos.ScalarResource("mem", 32),
		},
	}
}

// TestFailoverLosesNoTask is the cluster core's proof: a task launched through the scheduler API
// survives a master failover and an agent restart, and its end is still reported.
func TestFailoverLosesNoTask(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Masters: 3, Agents: 3})
	ctx := testutil.Context(t)

	f := newFramework(t, c.MasterURLs())
	f.subscribe(ctx, 10*time.Second)
	frameworkID := f.stream.FrameworkID()
	f.launch <- sleepTask("sleeper")
	running := f.waitState("sleeper", mesos.TaskRunning, 20*time.Second)
	agentID := running.AgentID.Value

	// The leading master goes away: another leads within seconds.
	old := c.LeaderIndex()
	start := time.Now()
	c.StopMaster(old)
	leader := c.WaitForLeader(10 * time.Second)
	t.Logf("master %d took over from master %d in %v", leader, old, time.Since(start))
	if leader == old {
		t.Fatal("the stopped master still leads")
	}

	// The framework re-subscribes with its id; reconciliation reports the task running.
	f.stream.Close()
	f.subscribe(ctx, 10*time.Second)
	if got := f.stream.FrameworkID(); got != frameworkID {
		t.Fatalf("re-subscribed as framework %q, want %q", got, frameworkID)
	}
	testutil.WaitFor(t, 15*time.Second, func() error {
		if err := f.stream.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "sleeper"}}); err != nil {
			return err
		}
		select {
		case st := <-f.states:
			if st.TaskID.Value == "sleeper" && st.State == mesos.TaskRunning {
				return nil
			}
			return fmt.Errorf("reconciled as %s", st.State)
		case <-time.After(500 * time.Millisecond):
			return fmt.Errorf("no reconciliation answer")
		}
	})

	// The agent running the task restarts: the task survives and its end is still reported.
	var idx = -1
	for i, a := range c.Agents() {
		if a.Agent != nil && a.Agent.ID() == agentID {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no agent has id %s", agentID)
	}
	c.StopAgent(idx)
	if err := c.StartAgent(idx); err != nil {
		t.Fatal(err)
	}
	c.WaitForAgent(idx, 15*time.Second)
	if err := f.stream.Kill(ctx, "sleeper", agentID); err != nil {
		t.Fatal(err)
	}
	f.waitState("sleeper", mesos.TaskKilled, 20*time.Second)

	var state struct {
		Frameworks []struct {
			ID             string `json:"id"`
			CompletedTasks []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"completed_tasks"`
		} `json:"frameworks"`
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if err := c.GetJSON("/master/state", &state); err != nil {
			return err
		}
		for _, fw := range state.Frameworks {
			for _, task := range fw.CompletedTasks {
				if task.ID == "sleeper" && task.State == string(mesos.TaskKilled) {
					return nil
				}
			}
		}
		return fmt.Errorf("sleeper not among completed tasks: %+v", state)
	})
}

// TestPartitionedAgent cuts an agent off: its task is reported unreachable to a partition-aware
// framework, and running again once the agent is back.
func TestPartitionedAgent(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1})
	ctx := testutil.Context(t)
	f := newFramework(t, c.MasterURLs())
	f.subscribe(ctx, 10*time.Second)
	f.launch <- sleepTask("cut")
	f.waitState("cut", mesos.TaskRunning, 20*time.Second)

	c.CutAgent(0)
	st := f.waitState("cut", mesos.TaskUnreachable, 20*time.Second)
	if st.UnreachableTime == nil {
		t.Error("TASK_UNREACHABLE carries no unreachable_time")
	}
	c.HealAgent(0)
	f.waitState("cut", mesos.TaskRunning, 20*time.Second)
}
