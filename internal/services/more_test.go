package services_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testutil"
)

// sse reads a /v2/events stream.
type sse struct {
	events chan [2]string // type, data
	cancel context.CancelFunc
}

func openEvents(t *testing.T, base, query string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v2/events"+query, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &sse{events: make(chan [2]string, 1000), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var typ string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				s.events <- [2]string{typ, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	return s
}

// next returns the next event of one of the types, failing after timeout.
func (s *sse) next(t *testing.T, timeout time.Duration, types ...string) (string, []byte) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatal("event stream ended")
			}
			for _, typ := range types {
				if e[0] == typ {
					return e[0], []byte(e[1])
				}
			}
		case <-deadline:
			t.Fatalf("no %v event within %v", types, timeout)
		}
	}
}

// TestEventsAndFailures checks the event stream (directly and through a standby), a crashing
// app's backoff and last failure, a rollback and a partitioned agent.
func TestEventsAndFailures(t *testing.T) {
	c, api := newServicesCluster(t, 3, 3)
	leader := c.ServicesLeaderURL()
	var standby string
	for _, u := range c.ServicesURLs() {
		if u != leader {
			standby = u
		}
	}

	t.Run("events", func(t *testing.T) {
		all := openEvents(t, leader, "")
		typ, _ := all.next(t, 5*time.Second, marathon.EventStreamAttachedType)
		if typ != marathon.EventStreamAttachedType {
			t.Fatal(typ)
		}
		// Every subscriber hears of streams attached and detached.
		other := openEvents(t, leader, "?event_type=status_update_event")
		all.next(t, 5*time.Second, marathon.EventStreamAttachedType)
		other.cancel()
		all.next(t, 5*time.Second, marathon.EventStreamDetachedType)
		updates := openEvents(t, standby, "?event_type=status_update_event&event_type=deployment_success")
		api.json("POST", "/v2/apps", sleeper("/ev", 1), http.StatusCreated, nil)
		_, data := all.next(t, 5*time.Second, marathon.EventAPIPostType)
		ev, err := marathon.DecodeEvent(data)
		if err != nil {
			t.Fatalf("api_post_event %s: %v", data, err)
		}
		if p := ev.(*marathon.APIPostEvent); p.AppDefinition == nil || p.AppDefinition.ID != "/ev" || p.URI != "/v2/apps" {
			t.Errorf("api_post_event %s", data)
		}
		_, data = all.next(t, 5*time.Second, marathon.EventDeploymentInfoType)
		if _, err := marathon.DecodeEvent(data); err != nil {
			t.Errorf("deployment_info %s: %v", data, err)
		}
		for {
			typ, data := updates.next(t, 20*time.Second, marathon.EventStatusUpdateType, marathon.EventDeploymentSuccessType)
			ev, err := marathon.DecodeEvent(data)
			if err != nil {
				t.Fatalf("%s %s: %v", typ, data, err)
			}
			if su, ok := ev.(*marathon.StatusUpdateEvent); ok {
				if su.AppID != "/ev" || su.Host == "" || su.SlaveID == "" || len(su.Ports) != 1 || su.Version == "" {
					t.Errorf("status_update_event %s", data)
				}
				continue
			}
			break // deployment_success after the updates
		}
		_, data = all.next(t, 5*time.Second, marathon.EventStatusUpdateType)
		if !strings.Contains(string(data), `"taskStatus":"TASK_`) {
			t.Errorf("status_update_event %s", data)
		}
		for {
			_, data = all.next(t, 20*time.Second, marathon.EventInstanceChangedType)
			var ic marathon.InstanceChangedEvent
			if err := json.Unmarshal(data, &ic); err != nil || ic.RunSpecID != "/ev" || ic.InstanceID == "" || ic.AgentID == "" {
				t.Fatalf("instance_changed_event %s (%v)", data, err)
			}
			if ic.Condition == "Running" {
				break
			}
		}
	})

	t.Run("crashing app backs off", func(t *testing.T) {
		app := map[string]any{"id": "/crash", "cmd": "exit 3", "cpus": 0.1, "mem": 16, "instances": 1, "backoffSeconds": 1, "backoffFactor": 2, "maxLaunchDelaySeconds": 60}
		api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
		testutil.WaitFor(t, 30*time.Second, func() error {
			var got struct{ App marathon.App }
			api.json("GET", "/v2/apps/crash", nil, http.StatusOK, &got)
			f := got.App.LastTaskFailure
			if f == nil || f.State != "TASK_FAILED" || f.AppID != "/crash" {
				return fmt.Errorf("lastTaskFailure %+v", f)
			}
			return nil
		})
		testutil.WaitFor(t, 30*time.Second, func() error {
			var q marathon.Queue
			api.json("GET", "/v2/queue", nil, http.StatusOK, &q)
			for _, item := range q.Queue {
				if item.App.ID == "/crash" && item.Delay.TimeLeftSeconds >= 1 {
					return nil
				}
			}
			return fmt.Errorf("no delay in queue %+v", q)
		})
		api.json("DELETE", "/v2/apps/crash?force=true", nil, http.StatusOK, nil)
	})

	t.Run("queue delay reset", func(t *testing.T) {
		if code, _, body := api.do("DELETE", "/v2/queue/nodelay/delay", nil); code != http.StatusNotFound {
			t.Errorf("reset of an unknown app's delay: %d %s", code, body)
		}
		app := map[string]any{"id": "/crashslow", "cmd": "exit 3", "cpus": 0.1, "mem": 16, "instances": 1, "backoffSeconds": 600}
		api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
		var first string
		testutil.WaitFor(t, 30*time.Second, func() error {
			var q marathon.Queue
			api.json("GET", "/v2/queue", nil, http.StatusOK, &q)
			for _, item := range q.Queue {
				if item.App.ID == "/crashslow" && item.Delay.TimeLeftSeconds > 60 {
					var got struct{ App marathon.App }
					api.json("GET", "/v2/apps/crashslow", nil, http.StatusOK, &got)
					first = got.App.LastTaskFailure.TaskID
					return nil
				}
			}
			return fmt.Errorf("no delay in queue %+v", q)
		})
		api.json("DELETE", "/v2/queue/crashslow/delay", nil, http.StatusNoContent, nil)
		// Without the delay the app is launched again at once, and fails again.
		testutil.WaitFor(t, 30*time.Second, func() error {
			var got struct{ App marathon.App }
			api.json("GET", "/v2/apps/crashslow", nil, http.StatusOK, &got)
			if f := got.App.LastTaskFailure; f == nil || f.TaskID == first {
				return fmt.Errorf("no new failure after %s", first)
			}
			return nil
		})
		api.json("DELETE", "/v2/apps/crashslow?force=true", nil, http.StatusOK, nil)
	})

	t.Run("rollback", func(t *testing.T) {
		app := sleeper("/rb", 4)
		app["constraints"] = [][]string{{"hostname", "UNIQUE"}}
		var created marathon.App
		api.json("POST", "/v2/apps", app, http.StatusCreated, &created)
		waitRunning(t, api, "/rb", 3, 30*time.Second)
		// Rolling back a creation removes the app.
		var res marathon.DeploymentResult
		api.json("DELETE", "/v2/deployments/"+created.Deployments[0].ID, nil, http.StatusOK, &res)
		testutil.WaitFor(t, 30*time.Second, func() error {
			if code, _, _ := api.do("GET", "/v2/apps/rb", nil); code != http.StatusNotFound {
				return fmt.Errorf("app still there: %d", code)
			}
			return nil
		})
		waitNoDeployments(t, api)
		assertMesosTasks(t, c, "/rb", 0)

		// Rolling back an update goes back to the definition before it: the instances that
		// still run it are kept.
		api.json("POST", "/v2/apps", sleeper("/rb2", 2), http.StatusCreated, nil)
		before := waitRunning(t, api, "/rb2", 2, 30*time.Second)
		waitNoDeployments(t, api)
		unplaceable := map[string]any{"instances": 3, "constraints": [][]string{{"hostname", "MAX_PER", "0"}}}
		api.json("PUT", "/v2/apps/rb2", unplaceable, http.StatusOK, &res)
		api.json("DELETE", "/v2/deployments/"+res.DeploymentID, nil, http.StatusOK, &res)
		waitNoDeployments(t, api)
		after := waitRunning(t, api, "/rb2", 2, 30*time.Second)
		for i := range after {
			if after[i].ID != before[i].ID {
				t.Errorf("the rollback replaced %s by %s", before[i].ID, after[i].ID)
			}
		}
		var got struct{ App marathon.App }
		api.json("GET", "/v2/apps/rb2", nil, http.StatusOK, &got)
		if *got.App.Instances != 2 || len(got.App.Constraints) != 0 {
			t.Errorf("after the rollback: instances %d, constraints %v", *got.App.Instances, got.App.Constraints)
		}
		// With force the deployment is only forgotten: the definition stays.
		api.json("PUT", "/v2/apps/rb2", unplaceable, http.StatusOK, &res)
		code, _, body := api.do("DELETE", "/v2/deployments/"+res.DeploymentID+"?force=true", nil)
		if code != http.StatusAccepted {
			t.Fatalf("forced cancel: %d %s", code, body)
		}
		waitNoDeployments(t, api)
		api.json("GET", "/v2/apps/rb2", nil, http.StatusOK, &got)
		if *got.App.Instances != 3 || len(got.App.Constraints) != 1 {
			t.Errorf("after a forced cancel: instances %d, constraints %v", *got.App.Instances, got.App.Constraints)
		}
	})

	t.Run("partitioned agent", func(t *testing.T) {
		api.json("DELETE", "/v2/apps/rb2?force=true", nil, http.StatusOK, nil)
		api.json("DELETE", "/v2/apps/ev?force=true", nil, http.StatusOK, nil)
		app := sleeper("/part", 3)
		app["constraints"] = [][]string{{"hostname", "MAX_PER", "2"}}
		api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
		ts := waitRunning(t, api, "/part", 3, 30*time.Second)
		cut := -1
		for i, a := range c.Agents() {
			if a.IP == ts[0].Host {
				cut = i
			}
		}
		lost := map[string]bool{}
		for _, task := range ts {
			if task.Host == ts[0].Host {
				lost[task.ID] = true
			}
		}
		c.CutAgent(cut)
		// The tasks of the cut agent are replaced elsewhere.
		testutil.WaitFor(t, 30*time.Second, func() error {
			ts, err := api.tryTasks("/part")
			if err != nil {
				return err
			}
			n := 0
			for _, task := range ts {
				if task.State == "TASK_RUNNING" && !lost[task.ID] {
					n++
				}
			}
			if n != 3 {
				return fmt.Errorf("%d running off the cut agent (%d tasks)", n, len(ts))
			}
			return nil
		})
		// Once the agent is back, either its tasks were expunged (then they are unknown and
		// killed) or they count again (then the youngest surplus goes): three remain.
		c.HealAgent(cut)
		testutil.WaitFor(t, 60*time.Second, func() error {
			ids, err := mesosTasks(c, "/part")
			if err != nil {
				return err
			}
			ts, err := api.tryTasks("/part")
			if err != nil {
				return err
			}
			if len(ids) != 3 || len(ts) != 3 {
				return fmt.Errorf("the master runs %d tasks, the services role lists %d", len(ids), len(ts))
			}
			for _, task := range ts {
				if !slices.Contains(ids, task.ID) {
					return fmt.Errorf("%s is listed but not run", task.ID)
				}
			}
			return nil
		})
		waitRunning(t, api, "/part", 3, 10*time.Second)
	})

	t.Run("abdication", func(t *testing.T) {
		old := c.ServicesLeaderURL()
		var m struct{ Message string }
		newClient(t, standby).json("DELETE", "/v2/leader", nil, http.StatusOK, &m)
		if m.Message != "Leadership abdicated" {
			t.Errorf("DELETE /v2/leader: %q", m.Message)
		}
		testutil.WaitFor(t, 20*time.Second, func() error {
			if u := c.ServicesLeaderURL(); u == "" || u == old {
				return fmt.Errorf("leader %q", u)
			}
			return nil
		})
		i := c.WaitForServicesLeader(20 * time.Second)
		waitRunning(t, newClient(t, c.Masters()[i].ServicesURL), "/part", 3, 30*time.Second)
	})
}

// GET /v2/apps/{group}/* lists the apps within a group at any depth, as {"*": [...]}.
func TestListGroupApps(t *testing.T) {
	_, api := newServicesCluster(t, 1, 0)
	for _, id := range []string{"/prod/web", "/prod/db/pg", "/production", "/dev/web"} {
		api.json("POST", "/v2/apps", sleeper(id, 0), http.StatusCreated, nil)
	}
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/v2/apps/prod/*", []string{"/prod/db/pg", "/prod/web"}},
		{"/v2/apps/prod/db/*", []string{"/prod/db/pg"}},
		{"/v2/apps/*", []string{"/dev/web", "/prod/db/pg", "/prod/web", "/production"}},
		{"/v2/apps/none/*", []string{}},
	} {
		var got map[string][]marathon.App
		api.json("GET", tt.path, nil, http.StatusOK, &got)
		ids := []string{}
		for _, a := range got["*"] {
			ids = append(ids, a.ID)
			if a.Tasks == nil {
				t.Errorf("%s: %s without its tasks embedded", tt.path, a.ID)
			}
		}
		if _, ok := got["*"]; !ok || !slices.Equal(ids, tt.want) {
			t.Errorf("GET %s = %v (keys %v), want %v", tt.path, ids, slices.Collect(maps.Keys(got)), tt.want)
		}
	}
	api.json("GET", "/v2/apps/prod/web", nil, http.StatusOK, nil) // an app's own path still works
}
