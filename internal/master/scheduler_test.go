package master

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestLaunchRunningAcknowledge(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	sim := startSim(t, 2, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "test"}, "", m)
	ctx := context.Background()

	ev := next(t, s, isType(mesos.EventOffers))
	o := ev.Offers.Offers[0]
	if o.Hostname == "" || o.URL == nil || o.AllocationInfo == nil || o.AllocationInfo.Role != "*" {
		t.Fatalf("offer lacks hostname, url or allocation_info: %+v", o)
	}
	if len(o.Attributes) != 1 || o.Attributes[0].Name != "rack" {
		t.Fatalf("offer attributes: %+v", o.Attributes)
	}
	for _, r := range o.Resources {
		if r.AllocationInfo == nil || r.AllocationInfo.Role != "*" {
			t.Fatalf("offered resource without allocation_info: %+v", r)
		}
	}
	if err := s.Launch(ctx, o.ID, newTaskInfo("web.1", o, "cpus:0.5;mem:128;ports:[31001-31001]")); err != nil {
		t.Fatal(err)
	}
	up := next(t, s, isUpdate("web.1", mesos.TaskRunning))
	if len(up.Update.Status.UUID) == 0 {
		t.Fatal("agent update without uuid")
	}
	if err := s.Acknowledge(ctx, up.Update.Status); err != nil {
		t.Fatal(err)
	}
	if sim.Tasks() != 1 {
		t.Fatalf("sim runs %d tasks, want 1", sim.Tasks())
	}
	var state stateDoc
	testutil.WaitFor(t, 5*time.Second, func() error {
		getJSON(t, m, "/master/state", &state)
		if len(state.Frameworks) != 1 || len(state.Frameworks[0].Tasks) != 1 {
			return fmt.Errorf("state has %d frameworks", len(state.Frameworks))
		}
		if got := state.Frameworks[0].Tasks[0].State; got != "TASK_RUNNING" {
			return fmt.Errorf("task state %s", got)
		}
		return nil
	})
}

func TestSchedulerBadInput(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	rs := rawSubscribe(t, m, mesos.FrameworkInfo{Name: "bad"})
	url := m.URL() + "/api/v1/scheduler"
	sid := map[string]string{"Mesos-Stream-Id": rs.streamID}
	fw := `"framework_id":{"value":"` + rs.frameworkID + `"}`
	big := make([]byte, 5<<20)
	for i := range big {
		big[i] = ' '
	}
	cases := []struct {
		name string
		hdr  map[string]string
		body string
		want int
	}{
		{"malformed JSON", sid, `{"type":`, 400},
		{"trailing garbage", sid, `{"type":"REVIVE",` + fw + `} x`, 400},
		{"unknown call type", sid, `{"type":"FROBNICATE",` + fw + `}`, 400},
		{"missing type", sid, `{` + fw + `}`, 400},
		{"wrong field type", sid, `{"type":"KILL",` + fw + `,"kill":{"task_id":{"value":3}}}`, 400},
		{"missing framework id", sid, `{"type":"REVIVE"}`, 400},
		{"missing stream id", nil, `{"type":"REVIVE",` + fw + `}`, 400},
		{"wrong stream id", map[string]string{"Mesos-Stream-Id": "nope"}, `{"type":"REVIVE",` + fw + `}`, 400},
		{"unknown framework", sid, `{"type":"REVIVE","framework_id":{"value":"nope"}}`, 403},
		{"accept without accept", sid, `{"type":"ACCEPT",` + fw + `}`, 400},
		{"kill without task id", sid, `{"type":"KILL",` + fw + `,"kill":{}}`, 400},
		{"acknowledge without uuid", sid, `{"type":"ACKNOWLEDGE",` + fw + `,"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"}}}`, 400},
		{"subscribe id mismatch", nil, `{"type":"SUBSCRIBE","framework_id":{"value":"a"},"subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"b"}}}}`, 400},
		{"subscribe bad role", nil, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a b"]}}}`, 400},
		{"subscribe negative failover", nil, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":-1}}}`, 400},
		{"protobuf", map[string]string{"Content-Type": "application/x-protobuf"}, `x`, 415},
		{"form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `x`, 415},
		{"protobuf only accepted", map[string]string{"Accept": "application/x-protobuf"}, `{"type":"REVIVE",` + fw + `}`, 406},
		{"oversized body", sid, `{"type":"REVIVE",` + fw + `}` + string(big), 413},
		{"valid revive", sid, `{"type":"REVIVE",` + fw + `}`, 202},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := post(t, url, c.hdr, []byte(c.body))
			if code != c.want {
				t.Errorf("got %d (%s), want %d", code, body, c.want)
			}
			if code >= 400 && len(body) == 0 {
				t.Errorf("error without a message")
			}
		})
	}
	if code := getJSON(t, m, "/api/v1/scheduler", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1/scheduler: %d", code)
	}
	checkAccounting(t, m)
}

func TestAcceptValidation(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 2, "", nil, m)
	rs := rawSubscribe(t, m, mesos.FrameworkInfo{Name: "v"})
	noFilter := &mesos.Filters{RefuseSeconds: failover(0)}
	accept := func(rs *rawSub, offers []mesos.ID, tasks ...mesos.TaskInfo) {
		t.Helper()
		code, body := rs.call(t, m, mesos.Call{Type: mesos.CallAccept, Accept: &mesos.Accept{OfferIDs: offers, Operations: launch(tasks...), Filters: noFilter}})
		if code != http.StatusAccepted {
			t.Fatalf("accept: %d %s", code, body)
		}
	}
	offer := func(rs *rawSub) mesos.Offer {
		t.Helper()
		return rs.offer(t)
	}
	expect := func(rs *rawSub, id string, state mesos.TaskState, reason string) mesos.TaskStatus {
		t.Helper()
		ev := rs.next(t, func(ev mesos.Event) bool { return ev.Type == mesos.EventUpdate && ev.Update.Status.TaskID.Value == id })
		s := ev.Update.Status
		if s.State != state || s.Reason != reason || len(s.UUID) != 0 || s.Source != mesos.SourceMaster {
			t.Fatalf("task %s: got %s/%s (uuid %x, source %s, %q), want %s/%s", id, s.State, s.Reason, s.UUID, s.Source, s.Message, state, reason)
		}
		return s
	}

	o := offer(rs)
	good := newTaskInfo("good", o, "cpus:1;mem:128")
	tooBig := newTaskInfo("big", o, "cpus:100;mem:128")
	dup := newTaskInfo("good", o, "cpus:1;mem:128")
	noRes := newTaskInfo("nores", o, "cpus:0")
	noRes.Resources = nil
	wrongAgent := newTaskInfo("wrongagent", o, "cpus:1")
	wrongAgent.AgentID = mesos.ID{Value: "elsewhere"}
	noCmd := newTaskInfo("nocmd", o, "cpus:1")
	noCmd.Command = nil
	badID := newTaskInfo("a/b", o, "cpus:1")
	rest := newTaskInfo("rest", o, "cpus:3;mem:128") // 4 cpus in the offer: 1 for "good", 3 left
	over := newTaskInfo("over", o, "cpus:0.5")       // nothing left after "rest"
	accept(rs, []mesos.ID{o.ID}, good, tooBig, dup, noRes, wrongAgent, noCmd, badID, rest, over)
	expect(rs, "big", mesos.TaskError, mesos.ReasonTaskInvalid)
	expect(rs, "nores", mesos.TaskError, mesos.ReasonTaskInvalid)
	expect(rs, "wrongagent", mesos.TaskError, mesos.ReasonTaskInvalid)
	expect(rs, "nocmd", mesos.TaskError, mesos.ReasonTaskInvalid)
	expect(rs, "a/b", mesos.TaskError, mesos.ReasonTaskInvalid)
	expect(rs, "over", mesos.TaskError, mesos.ReasonTaskInvalid)
	rs.next(t, isUpdate("good", mesos.TaskRunning))
	rs.next(t, isUpdate("rest", mesos.TaskRunning))
	checkAccounting(t, m)

	// The same offer again: it is gone. Frameworks that are not partition-aware get TASK_LOST.
	accept(rs, []mesos.ID{o.ID}, newTaskInfo("again", o, "cpus:0.1"))
	expect(rs, "again", mesos.TaskLost, mesos.ReasonInvalidOffers)
	// A duplicate of a running task's id on a new offer.
	o2 := offer(rs)
	accept(rs, []mesos.ID{o2.ID}, newTaskInfo("good", o2, "cpus:0.1"))
	if ev := rs.next(t, isType(mesos.EventUpdate)); ev.Update.Status.State != mesos.TaskError || ev.Update.Status.Reason != mesos.ReasonTaskInvalid {
		t.Fatalf("duplicate id: %+v", ev.Update.Status)
	}
	// An offer listed twice.
	o3 := offer(rs)
	accept(rs, []mesos.ID{o3.ID, o3.ID}, newTaskInfo("twice", o3, "cpus:0.1"))
	expect(rs, "twice", mesos.TaskLost, mesos.ReasonInvalidOffers)
	// Another framework's offer: partition-aware frameworks get TASK_DROPPED.
	pa := rawSubscribe(t, m, mesos.FrameworkInfo{Name: "pa", Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}})
	o4 := offer(rs)
	accept(pa, []mesos.ID{o4.ID}, newTaskInfo("stolen", o4, "cpus:0.1"))
	expect(pa, "stolen", mesos.TaskDropped, mesos.ReasonInvalidOffers)
	checkAccounting(t, m)

	var state stateDoc
	getJSON(t, m, "/master/state", &state)
	running := 0
	for _, f := range state.Frameworks {
		running += len(f.Tasks)
	}
	if running != 2 {
		t.Errorf("%d tasks in /master/state, want 2", running)
	}
}

func TestDeclineReviveSuppress(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "d"}, "", m)
	ctx := context.Background()
	quiet := func(what string, d time.Duration) {
		t.Helper()
		if ev, ok := nextWithin(s, d, isType(mesos.EventOffers)); ok {
			t.Fatalf("%s: unexpected offer %+v", what, ev.Offers.Offers[0].ID)
		}
	}

	// Decline with a long filter: no offer until REVIVE clears it.
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Decline(ctx, []mesos.ID{o.ID}, &mesos.Filters{RefuseSeconds: failover(3600)}); err != nil {
		t.Fatal(err)
	}
	quiet("after decline", 300*time.Millisecond)
	checkAccounting(t, m)
	if err := s.Revive(ctx); err != nil {
		t.Fatal(err)
	}
	o = next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]

	// A short filter expires by itself: the allocator is woken, no one polls.
	start := time.Now()
	if err := s.Decline(ctx, []mesos.ID{o.ID}, &mesos.Filters{RefuseSeconds: failover(0.5)}); err != nil {
		t.Fatal(err)
	}
	o = next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("re-offered after %v, before the filter expired", d)
	}

	// Suppressed: declined resources are not offered again, even without a filter.
	if err := s.Suppress(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Decline(ctx, []mesos.ID{o.ID}, &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		t.Fatal(err)
	}
	quiet("while suppressed", 300*time.Millisecond)
	if err := s.Revive(ctx); err != nil {
		t.Fatal(err)
	}
	next(t, s, isType(mesos.EventOffers))
	checkAccounting(t, m)
}

func TestKillAndReconcile(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	sim := startSim(t, 1, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "k"}, "", m)
	_, pa := subscribe(t, mesos.FrameworkInfo{Name: "pa", Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}}, "", m)
	ctx := context.Background()
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Launch(ctx, o.ID, newTaskInfo("a", o, "cpus:1;mem:64"), newTaskInfo("b", o, "cpus:1;mem:64")); err != nil {
		t.Fatal(err)
	}
	waitUpdates(t, s, map[string]mesos.TaskState{"a": mesos.TaskRunning, "b": mesos.TaskRunning})

	// Explicit reconciliation: known tasks report their latest state, unknown ones TASK_LOST.
	if err := s.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "a"}}, mesos.ReconcileTask{TaskID: mesos.ID{Value: "ghost"}}); err != nil {
		t.Fatal(err)
	}
	for id, st := range waitUpdates(t, s, map[string]mesos.TaskState{"a": mesos.TaskRunning, "ghost": mesos.TaskLost}) {
		if st.Reason != mesos.ReasonReconciliation || len(st.UUID) != 0 {
			t.Errorf("reconcile %s: %+v", id, st)
		}
		if id == "a" && (st.ContainerStatus == nil || st.AgentID == nil) {
			t.Errorf("reconcile answer lost the latest status' details: %+v", st)
		}
	}
	// Implicit reconciliation: every task.
	if err := s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	waitUpdates(t, s, map[string]mesos.TaskState{"a": mesos.TaskRunning, "b": mesos.TaskRunning})
	// Partition-aware frameworks hear TASK_UNKNOWN for unknown tasks.
	if err := pa.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "ghost"}}); err != nil {
		t.Fatal(err)
	}
	next(t, pa, isUpdate("ghost", mesos.TaskUnknown))

	// Kill: the agent reports TASK_KILLED (with a uuid to acknowledge), resources come back.
	if err := s.Kill(ctx, "a", o.AgentID.Value); err != nil {
		t.Fatal(err)
	}
	killed := next(t, s, ackingUpdate(t, s, "a", mesos.TaskKilled)).Update.Status
	if len(killed.UUID) == 0 {
		t.Errorf("agent's TASK_KILLED has no uuid")
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := sim.Tasks(); n != 1 {
			return fmt.Errorf("sim runs %d tasks", n)
		}
		return nil
	})
	// Killing an unknown task reconciles it.
	if err := s.Kill(ctx, "ghost", ""); err != nil {
		t.Fatal(err)
	}
	next(t, s, isUpdate("ghost", mesos.TaskLost))
	// A completed task reconciles to its terminal state.
	if err := s.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	next(t, s, isUpdate("a", mesos.TaskKilled))
	checkAccounting(t, m)

	var state stateDoc
	getJSON(t, m, "/master/state", &state)
	for _, f := range state.Frameworks {
		if f.Name == "k" && (len(f.Tasks) != 1 || len(f.Completed) != 1 || f.Completed[0].State != "TASK_KILLED") {
			t.Errorf("framework k: tasks %+v completed %+v", f.Tasks, f.Completed)
		}
	}

	// TEARDOWN kills what is left and removes the framework.
	if err := s.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := sim.Tasks(); n != 0 {
			return fmt.Errorf("sim runs %d tasks", n)
		}
		getJSON(t, m, "/master/state", &state)
		if len(state.Completed) != 1 || len(state.Frameworks) != 1 {
			return fmt.Errorf("%d frameworks, %d completed", len(state.Frameworks), len(state.Completed))
		}
		return nil
	})
	checkAccounting(t, m)
}

func TestLaunchGroup(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	sim := startSim(t, 1, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "pods"}, "", m)
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	execRes, _ := mesos.ParseResources("cpus:0.1;mem:32")
	group := &mesos.LaunchGroup{
		Executor: mesos.ExecutorInfo{Type: "DEFAULT", ExecutorID: mesos.ID{Value: "pod-1"}, Resources: execRes},
		TaskGroup: mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{
			newTaskInfo("pod-1.a", o, "cpus:0.5;mem:64"), newTaskInfo("pod-1.b", o, "cpus:0.5;mem:64"),
		}},
	}
	ops := []mesos.Operation{{Type: mesos.OperationLaunchGroup, LaunchGroup: group}}
	if err := s.Accept(context.Background(), []mesos.ID{o.ID}, ops, &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		t.Fatal(err)
	}
	waitUpdates(t, s, map[string]mesos.TaskState{"pod-1.a": mesos.TaskRunning, "pod-1.b": mesos.TaskRunning})
	if n := sim.Tasks(); n != 2 {
		t.Errorf("sim runs %d tasks", n)
	}
	var st stateDoc
	getJSON(t, m, "/master/state", &st)
	if f := st.Frameworks[0]; len(f.Tasks) != 2 || len(f.Executors) != 1 || *f.Tasks[0].ExecutorID != "pod-1" {
		t.Errorf("framework: tasks %+v executors %+v", f.Tasks, f.Executors)
	}
	checkAccounting(t, m)

	// A group with one invalid task fails as a whole.
	o = next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	group.Executor.ExecutorID.Value = "pod-2"
	group.TaskGroup.Tasks = []mesos.TaskInfo{newTaskInfo("pod-2.a", o, "cpus:0.5"), newTaskInfo("pod-2.b", o, "cpus:500")}
	if err := s.Accept(context.Background(), []mesos.ID{o.ID}, ops, nil); err != nil {
		t.Fatal(err)
	}
	waitUpdates(t, s, map[string]mesos.TaskState{"pod-2.a": mesos.TaskError, "pod-2.b": mesos.TaskError})
	checkAccounting(t, m)
}
