package testcluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestSilentLeaderDeath kills the leading master as its machine would die, without closing a
// socket: the agents' streams to it and the services framework's subscription just go silent.
// The agents' silence timeout is a minute, longer than the deadlines below, so the agents
// re-register only because the new leader tells them to; the services framework re-subscribes
// after a few missed scheduler heartbeats. An app scaled right after the death runs its new
// instance, and its first instance is never lost.
func TestSilentLeaderDeath(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{
		Masters: 3, Agents: 2, Services: true, SilentDeath: true, AgentTimeout: time.Minute,
	})
	ctx := testutil.Context(t)
	old := c.WaitForLeader(20 * time.Second)
	c.WaitForServicesLeader(20 * time.Second)
	var urls []string
	for i, m := range c.Masters() {
		if i != old {
			urls = append(urls, m.ServicesURL)
		}
	}
	client, err := marathon.New(marathon.Config{URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	cmd, one := "sleep 600", 1
	if _, err := client.CreateApp(ctx, &api.App{ID: "/quiet", Cmd: &cmd, Instances: &one, CPUs: 0.1, Mem: 16}); err != nil {
		t.Fatal(err)
	}
	first := runningTasks(t, client, "/quiet", 1, time.Minute)[0]

	c.KillMasterSilently(old)
	leader := c.WaitForLeader(20 * time.Second)
	if leader == old {
		t.Fatal("the dead master still leads")
	}
	for i := range c.Agents() {
		c.WaitForAgent(i, 30*time.Second)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		_, err := client.ScaleApp(ctx, "/quiet", 2, false)
		return err
	})
	tasks := runningTasks(t, client, "/quiet", 2, 30*time.Second)
	if !slices.Contains(tasks, first) {
		t.Fatalf("the first instance %s is gone: running %v", first, tasks)
	}

	// Told again, as a stale or forged call would, an agent finds the same leader and stays.
	resp, err := http.Post("http://"+c.Agents()[0].Agent.Addr()+"/detect", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Leader       string `json:"leader"`
		Reconnecting bool   `json:"reconnecting"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /detect: %s, %v", resp.Status, err)
	}
	if got.Leader != c.LeaderURL() || got.Reconnecting {
		t.Fatalf("POST /detect = %+v, want the leader %s and no reconnection", got, c.LeaderURL())
	}
}

// runningTasks waits until app has exactly n tasks, all RUNNING, and returns their ids.
func runningTasks(t *testing.T, client *marathon.Client, app string, n int, timeout time.Duration) []string {
	t.Helper()
	var ids []string
	testutil.WaitFor(t, timeout, func() error {
		a, err := client.App(testutil.Context(t), app, "app.tasks")
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, task := range a.Tasks {
			if task.State != string(mesos.TaskRunning) {
				return fmt.Errorf("task %s is %s", task.ID, task.State)
			}
			ids = append(ids, task.ID)
		}
		if len(ids) != n {
			return fmt.Errorf("%d tasks, want %d", len(ids), n)
		}
		return nil
	})
	return ids
}
