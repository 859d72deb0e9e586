package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestSilentMasters subscribes through a list whose first master died without closing its
// sockets, then has the leader die the same way under the stream: a call within the stream
// ends with the stream instead of waiting on the dead master for ever.
func TestSilentMasters(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Masters: 3, SilentDeath: true})
	leader := c.WaitForLeader(20 * time.Second)
	standby := (leader + 1) % 3
	c.KillMasterSilently(standby)
	urls := c.MasterURLs()
	masters := append([]string{urls[standby]}, urls...)

	timeout := 60.0
	client := scheduler.New(scheduler.Config{Masters: masters, Framework: mesos.FrameworkInfo{
		User: "root", Name: "silent", FailoverTimeout: &timeout,
	}})
	ctx, cancel := context.WithTimeout(testutil.Context(t), 30*time.Second)
	defer cancel()
	var st *scheduler.Stream
	testutil.WaitFor(t, 30*time.Second, func() error {
		var err error
		st, err = client.Subscribe(ctx)
		return err
	})
	ev := <-st.Events
	if ev.Type != mesos.EventSubscribed || ev.Subscribed.HeartbeatIntervalSeconds <= 0 {
		t.Fatalf("first event %+v: want SUBSCRIBED with a heartbeat interval", ev)
	}
	if st.Leader() != urls[leader] {
		t.Fatalf("subscribed at %s, want the leader %s", st.Leader(), urls[leader])
	}

	c.KillMasterSilently(leader)
	done := make(chan error, 1)
	go func() { done <- st.Revive(context.Background()) }()
	time.Sleep(100 * time.Millisecond) // let the call reach the dead master (either way it must end)
	go st.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a call to a dead master succeeded")
		}
	case <-ctx.Done():
		t.Fatal("a call to a dead master outlived its stream")
	}
}
