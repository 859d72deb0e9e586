package master

import (
	"context"
	"fmt"
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
