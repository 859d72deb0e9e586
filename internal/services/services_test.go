package services_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestApps runs an app through its life on three masters and three agents: create, scale up,
// scale down, restart within its upgrade strategy, a killed task replaced, a constraint that
// cannot be met in full, and a standby's calls proxied to the leader.
func TestApps(t *testing.T) {
	c, api := newServicesCluster(t, 3, 3)

	t.Run("create", func(t *testing.T) {
		var created marathon.App
		h := api.json("POST", "/v2/apps", sleeper("/web", 5), http.StatusCreated, &created)
		if created.Version == "" || len(created.Deployments) != 1 || h.Get("Location") != "/v2/apps/web" {
			t.Fatalf("created %+v, headers %v", created, h)
		}
		ts := waitRunning(t, api, "/web", 5, 30*time.Second)
		for _, task := range ts {
			if !strings.HasPrefix(task.ID, "web.") || task.Version != created.Version || len(task.Ports) != 1 || task.Host == "" {
				t.Errorf("task %+v", task)
			}
		}
		waitNoDeployments(t, api)
	})

	t.Run("scale up", func(t *testing.T) {
		before := api.tasks("/web")
		var res marathon.DeploymentResult
		api.json("PUT", "/v2/apps/web", map[string]any{"instances": 20}, http.StatusOK, &res)
		if res.DeploymentID == "" {
			t.Fatalf("no deployment: %+v", res)
		}
		after := waitRunning(t, api, "/web", 20, 60*time.Second)
		for _, b := range before {
			if !slices.ContainsFunc(after, func(a marathon.Task) bool { return a.ID == b.ID }) {
				t.Errorf("scaling replaced task %s", b.ID)
			}
		}
		waitNoDeployments(t, api)
	})

	t.Run("scale down", func(t *testing.T) {
		api.json("PUT", "/v2/apps/web", map[string]any{"instances": 2}, http.StatusOK, nil)
		waitRunning(t, api, "/web", 2, 60*time.Second)
		waitNoDeployments(t, api)
		assertMesosTasks(t, c, "/web", 2)
	})

	t.Run("restart", func(t *testing.T) {
		// 4 instances, at least 2 serving and at most 4 at any time.
		api.json("PUT", "/v2/apps/web", map[string]any{"instances": 4, "upgradeStrategy": map[string]any{"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0}}, http.StatusOK, nil)
		before := waitRunning(t, api, "/web", 4, 60*time.Second)
		waitNoDeployments(t, api)
		var res marathon.DeploymentResult
		api.json("POST", "/v2/apps/web/restart", nil, http.StatusOK, &res)
		lowest, samples := 4, 0
		testutil.WaitFor(t, 60*time.Second, func() error {
			ts, err := api.tryTasks("/web")
			if err != nil {
				return err
			}
			samples++
			lowest = min(lowest, running(ts))
			if len(ts) != 4 || running(ts) != 4 {
				return fmt.Errorf("%d tasks, %d running", len(ts), running(ts))
			}
			for _, task := range ts {
				if slices.ContainsFunc(before, func(b marathon.Task) bool { return b.ID == task.ID }) {
					return fmt.Errorf("task %s not replaced yet", task.ID)
				}
				if task.Version != res.Version {
					return fmt.Errorf("task %s runs version %s, want %s", task.ID, task.Version, res.Version)
				}
			}
			return nil
		})
		t.Logf("restart: %d samples, lowest RUNNING count %d", samples, lowest)
		if lowest < 2 {
			t.Errorf("only %d instances ran during the restart; minimumHealthCapacity 0.5 of 4 asks for 2", lowest)
		}
		waitNoDeployments(t, api)
	})

	t.Run("killed task replaced", func(t *testing.T) {
		ts := api.tasks("/web")
		victim := ts[0].ID
		var single marathon.TaskSingle
		api.json("DELETE", "/v2/apps/web/tasks/"+victim, nil, http.StatusOK, &single)
		if single.Task.ID != victim {
			t.Fatalf("killed %+v, want %s", single.Task, victim)
		}
		testutil.WaitFor(t, 30*time.Second, func() error {
			ts, err := api.tryTasks("/web")
			if err != nil {
				return err
			}
			if slices.ContainsFunc(ts, func(x marathon.Task) bool { return x.ID == victim }) {
				return fmt.Errorf("%s still listed", victim)
			}
			if len(ts) != 4 || running(ts) != 4 {
				return fmt.Errorf("%d tasks, %d running", len(ts), running(ts))
			}
			return nil
		})
		// With scale=true the app shrinks instead.
		victim = api.tasks("/web")[0].ID
		var res marathon.DeploymentResult
		api.json("DELETE", "/v2/apps/web/tasks/"+victim+"?scale=true", nil, http.StatusOK, &res)
		waitRunning(t, api, "/web", 3, 30*time.Second)
		var got struct{ App marathon.App }
		api.json("GET", "/v2/apps/web", nil, http.StatusOK, &got)
		if *got.App.Instances != 3 {
			t.Errorf("instances %d after a kill with scale, want 3", *got.App.Instances)
		}
	})

	t.Run("unique hostname", func(t *testing.T) {
		app := sleeper("/uniq", 4)
		app["constraints"] = [][]string{{"hostname", "UNIQUE"}}
		api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
		ts := waitRunning(t, api, "/uniq", 3, 30*time.Second)
		hosts := map[string]bool{}
		for _, task := range ts {
			hosts[task.Host] = true
		}
		if len(hosts) != 3 {
			t.Errorf("tasks on hosts %v, want 3 distinct", hosts)
		}
		// It waits in the queue, with the reason the offers are declined.
		testutil.WaitFor(t, 20*time.Second, func() error {
			var q marathon.Queue
			api.json("GET", "/v2/queue?embed=lastUnusedOffers", nil, http.StatusOK, &q)
			for _, item := range q.Queue {
				if item.App == nil || item.App.ID != "/uniq" || item.Count != 1 {
					continue
				}
				sum := item.ProcessedOffersSummary
				if sum.UnusedOffersCount == 0 || len(sum.RejectSummaryLastOffers) == 0 || len(item.LastUnusedOffers) == 0 {
					return fmt.Errorf("no unused offers yet: %+v", item)
				}
				if r := sum.RejectSummaryLastOffers[1]; r.Reason != "UnfulfilledConstraint" || r.Declined == 0 {
					return fmt.Errorf("reject summary %+v", sum.RejectSummaryLastOffers)
				}
				if u := item.LastUnusedOffers[0]; !slices.Equal(u.Reason, []string{"UnfulfilledConstraint"}) || u.Offer.Hostname == "" {
					return fmt.Errorf("unused offer %+v", u)
				}
				return nil
			}
			return fmt.Errorf("queue %+v", q)
		})
		// The fourth never starts, and the deployment stays.
		if ts := api.tasks("/uniq"); len(ts) != 3 {
			t.Errorf("%d tasks, want 3", len(ts))
		}
		var deps []marathon.Deployment
		api.json("GET", "/v2/deployments", nil, http.StatusOK, &deps)
		if len(deps) != 1 || deps[0].AffectedApps[0] != "/uniq" {
			t.Errorf("deployments %+v", deps)
		}
		// Locked: a change without force is refused, with force it goes through.
		code, _, body := api.do("PUT", "/v2/apps/uniq", map[string]any{"instances": 3})
		if code != http.StatusConflict {
			t.Errorf("PUT on a locked app: %d %s", code, body)
		}
		api.json("PUT", "/v2/apps/uniq?force=true", map[string]any{"instances": 3}, http.StatusOK, nil)
		waitNoDeployments(t, api)
		api.json("DELETE", "/v2/apps/uniq", nil, http.StatusOK, nil)
		testutil.WaitFor(t, 30*time.Second, func() error {
			if code, _, _ := api.do("GET", "/v2/apps/uniq", nil); code != http.StatusNotFound {
				return fmt.Errorf("GET deleted app: %d", code)
			}
			return nil
		})
		waitNoDeployments(t, api)
		assertMesosTasks(t, c, "/uniq", 0)
	})

	t.Run("standby proxies", func(t *testing.T) {
		leader := c.ServicesLeaderURL()
		for _, u := range c.ServicesURLs() {
			if u == leader {
				continue
			}
			standby := newClient(t, u)
			var list struct{ Apps []marathon.App }
			h := standby.json("GET", "/v2/apps", nil, http.StatusOK, &list)
			if h.Get("X-Marathon-Leader") != leader {
				t.Errorf("X-Marathon-Leader %q from %s, want %q", h.Get("X-Marathon-Leader"), u, leader)
			}
			if len(list.Apps) != 1 || list.Apps[0].ID != "/web" {
				t.Errorf("apps through %s: %+v", u, list.Apps)
			}
			var info marathon.Info
			standby.json("GET", "/v2/info", nil, http.StatusOK, &info)
			if info.Name != "marina" || info.FrameworkID == "" || !info.Elected {
				t.Errorf("info through %s: %+v", u, info)
			}
			var li marathon.LeaderInfo
			standby.json("GET", "/v2/leader", nil, http.StatusOK, &li)
			if "http://"+li.Leader != leader {
				t.Errorf("leader %q, want %q", li.Leader, leader)
			}
			// A request that already went through this instance is a loop.
			req, _ := http.NewRequest("GET", u+"/v2/apps", nil)
			req.Header.Set("X-Marathon-Via", u)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusLoopDetected {
				t.Errorf("looping request: %d, want 508", resp.StatusCode)
			}
		}
		if code, _, body := api.do("GET", "/ping", nil); code != http.StatusOK || strings.TrimSpace(string(body)) != "pong" {
			t.Errorf("ping: %d %q", code, body)
		}
	})
}

// waitNoDeployments waits until no deployment runs.
func waitNoDeployments(t *testing.T, api *client) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, func() error {
		code, _, body := api.do("GET", "/v2/deployments", nil)
		if code != http.StatusOK {
			return fmt.Errorf("%d %s", code, body)
		}
		var deps []marathon.Deployment
		if err := json.Unmarshal(body, &deps); err != nil {
			return err
		}
		if len(deps) > 0 {
			return fmt.Errorf("%d deployments running: %s", len(deps), body)
		}
		return nil
	})
}

// mesosTasks returns the live tasks of the marathon framework on the leading master for an app.
func mesosTasks(c *testcluster.Cluster, appID string) ([]string, error) {
	var state struct {
		Frameworks []struct {
			Name  string `json:"name"`
			Tasks []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	if err := c.GetJSON("/master/state", &state); err != nil {
		return nil, err
	}
	prefix := strings.ReplaceAll(strings.TrimPrefix(appID, "/"), "/", "_") + "."
	var ids []string
	for _, f := range state.Frameworks {
		if f.Name != "marathon" {
			continue
		}
		for _, task := range f.Tasks {
			if strings.HasPrefix(task.ID, prefix) {
				switch task.State {
				case "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE":
					continue
				}
				ids = append(ids, task.ID)
			}
		}
	}
	return ids, nil
}

// assertMesosTasks waits until the master runs exactly n tasks of the app.
func assertMesosTasks(t *testing.T, c *testcluster.Cluster, appID string, n int) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() error {
		ids, err := mesosTasks(c, appID)
		if err != nil {
			return err
		}
		if len(ids) != n {
			return fmt.Errorf("the master runs %d tasks of %s, want %d", len(ids), appID, n)
		}
		return nil
	})
}

// TestLeaderFailoverMidScale stops the node of the services leader while an app scales up: a new
// leader finishes the scale with exactly the instances asked for, and the master runs no more.
func TestLeaderFailoverMidScale(t *testing.T) {
	c, api := newServicesCluster(t, 3, 3)
	api.json("POST", "/v2/apps", sleeper("/fo", 5), http.StatusCreated, nil)
	waitRunning(t, api, "/fo", 5, 30*time.Second)
	old := c.ServicesLeaderIndex()
	api.json("PUT", "/v2/apps/fo", map[string]any{"instances": 30}, http.StatusOK, nil)
	start := time.Now()
	c.StopMaster(old)
	leader := c.WaitForServicesLeader(30 * time.Second)
	t.Logf("services instance %d took over from %d in %v", leader, old, time.Since(start))
	if leader == old {
		t.Fatal("the stopped node still leads")
	}
	api = newClient(t, c.Masters()[leader].ServicesURL)
	ts := waitRunning(t, api, "/fo", 30, 60*time.Second)
	ids := map[string]bool{}
	for _, task := range ts {
		if ids[task.ID] {
			t.Errorf("task %s listed twice", task.ID)
		}
		ids[task.ID] = true
	}
	waitNoDeployments(t, api)
	assertMesosTasks(t, c, "/fo", 30)
	mesos, err := mesosTasks(c, "/fo")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range mesos {
		if !ids[id] {
			t.Errorf("the master runs %s, which the services role does not list", id)
		}
	}
	// Through a standby as well.
	for i, u := range c.ServicesURLs() {
		if i == old || i == leader {
			continue
		}
		if n := len(newClient(t, u).tasks("/fo")); n != 30 {
			t.Errorf("standby %d lists %d tasks", i, n)
		}
	}
}

// TestValidation checks Marathon's answers to bad requests.
func TestValidation(t *testing.T) {
	_, api := newServicesCluster(t, 1, 1)
	var verr marathon.ValidationError
	bad := map[string]any{"id": "/Bad_ID", "cmd": "sleep 1", "cpus": -1, "instances": -2, "constraints": [][]string{{"hostname", "NEAR"}}}
	api.json("POST", "/v2/apps", bad, http.StatusUnprocessableEntity, &verr)
	paths := verr.Paths()
	for _, want := range []string{"/id", "/cpus", "/instances", "/constraints(0)"} {
		if !slices.Contains(paths, want) {
			t.Errorf("422 lacks path %s: %+v", want, verr)
		}
	}
	if verr.Message == "" {
		t.Error("422 without a message")
	}
	if code, _, body := api.do("POST", "/v2/apps", `{"id": "/x", "cmd": `); code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %s", code, body)
	}
	if code, _, body := api.do("POST", "/v2/apps", `{"id": "/x", "cmd": "sleep 1", "cpu": 1}`); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		t.Errorf("unknown field: %d %s", code, body)
	}
	var m struct{ Message string }
	api.json("GET", "/v2/apps/foo", nil, http.StatusNotFound, &m)
	if m.Message != "App '/foo' does not exist" {
		t.Errorf("404 message %q", m.Message)
	}
	api.json("POST", "/v2/apps", sleeper("/dup", 0), http.StatusCreated, nil)
	api.json("POST", "/v2/apps", sleeper("/dup", 0), http.StatusConflict, &m)
	if m.Message != "An app with id [/dup] already exists." {
		t.Errorf("409 message %q", m.Message)
	}
	// Apps and groups may not share an id, nor may an app lie under an app.
	api.json("POST", "/v2/apps", sleeper("/grp/a", 0), http.StatusCreated, nil)
	for _, tt := range []struct {
		method, path string
		body         any
		message      string
	}{
		{"POST", "/v2/apps", sleeper("/grp", 0), "A group with id [/grp] already exists."},
		{"PUT", "/v2/apps/grp", sleeper("/grp", 0), "A group with id [/grp] already exists."},
		{"PUT", "/v2/apps", []any{sleeper("/grp", 0)}, "A group with id [/grp] already exists."},
		{"POST", "/v2/apps", sleeper("/dup/inner", 0), "An app with id [/dup] already exists; it cannot hold /dup/inner."},
		{"POST", "/v2/groups", map[string]any{"id": "/dup/g"}, "An app with id [/dup] already exists."},
	} {
		api.json(tt.method, tt.path, tt.body, http.StatusConflict, &m)
		if m.Message != tt.message {
			t.Errorf("%s %s: 409 message %q, want %q", tt.method, tt.path, m.Message, tt.message)
		}
	}
	var vs struct{ Versions []string }
	api.json("PUT", "/v2/apps/dup", map[string]any{"cmd": "sleep 2"}, http.StatusOK, nil)
	api.json("GET", "/v2/apps/dup/versions", nil, http.StatusOK, &vs)
	if len(vs.Versions) != 2 {
		t.Fatalf("versions %v", vs.Versions)
	}
	var first marathon.App
	api.json("GET", "/v2/apps/dup/versions/"+vs.Versions[1], nil, http.StatusOK, &first)
	if first.Cmd == nil || *first.Cmd != "sleep 3600" {
		t.Errorf("first version %+v", first)
	}
	big := strings.Repeat("x", 5<<20)
	if code, _, _ := api.do("POST", "/v2/apps", `{"id": "/big", "cmd": "`+big+`"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", code)
	}
	api.json("DELETE", "/v2/deployments/nope", nil, http.StatusNotFound, &m)
	api.json("DELETE", "/v2/apps/nope", nil, http.StatusNotFound, &m)
	api.json("DELETE", "/v2/apps/dup/tasks/nope", nil, http.StatusNotFound, &m)
}

// TestMasterFailover stops the leading Mesos master while another node leads the services role:
// the services role re-subscribes to the new master and keeps exactly its tasks, then scales.
func TestMasterFailover(t *testing.T) {
	c, api := newServicesCluster(t, 3, 3)
	api.json("POST", "/v2/apps", sleeper("/mf", 6), http.StatusCreated, nil)
	before := waitRunning(t, api, "/mf", 6, 30*time.Second)
	for range 5 {
		if c.ServicesLeaderIndex() != c.LeaderIndex() {
			break
		}
		old := c.ServicesLeaderURL()
		api.json("DELETE", "/v2/leader", nil, http.StatusOK, nil)
		testutil.WaitFor(t, 20*time.Second, func() error {
			if u := c.ServicesLeaderURL(); u == "" || u == old {
				return fmt.Errorf("services leader %q", u)
			}
			return nil
		})
		api = newClient(t, c.Masters()[c.WaitForServicesLeader(20*time.Second)].ServicesURL)
	}
	services, master := c.ServicesLeaderIndex(), c.LeaderIndex()
	if services == master {
		t.Skip("the services leader stays on the master leader's node")
	}
	// A services leader elected just now may not have subscribed yet: it must have a stream to
	// lose before the master goes.
	testutil.WaitFor(t, 20*time.Second, func() error {
		if _, _, body := api.do("GET", "/metrics", nil); !strings.Contains(string(body), "\nmarina_services_subscribed 1\n") {
			return errors.New("the services leader is not subscribed to the master")
		}
		return nil
	})
	ev := openEvents(t, api.base, "?event_type=scheduler_disconnected_event&event_type=scheduler_reregistered_event")
	c.StopMaster(master)
	if c.WaitForLeader(20*time.Second) == master {
		t.Fatal("the stopped master still leads")
	}
	ev.next(t, 20*time.Second, marathon.EventSchedulerDisconnectedType)
	if _, data := ev.next(t, 20*time.Second, marathon.EventSchedulerReregisteredType); !strings.Contains(string(data), `"frameworkId":"`) {
		t.Errorf("scheduler_reregistered_event %s", data)
	}
	for i := range c.Agents() {
		c.WaitForAgent(i, 20*time.Second)
	}
	after := waitRunning(t, api, "/mf", 6, 30*time.Second)
	for i := range after {
		if after[i].ID != before[i].ID {
			t.Errorf("task %s became %s over a master failover", before[i].ID, after[i].ID)
		}
	}
	if c.ServicesLeaderIndex() != services {
		t.Errorf("the services leader moved from %d to %d", services, c.ServicesLeaderIndex())
	}
	assertMesosTasks(t, c, "/mf", 6)
	api.json("PUT", "/v2/apps/mf", map[string]any{"instances": 8}, http.StatusOK, nil)
	waitRunning(t, api, "/mf", 8, 30*time.Second)
	waitNoDeployments(t, api)
	assertMesosTasks(t, c, "/mf", 8)
}

// TestQueries checks the filters and formats of the listings.
func TestQueries(t *testing.T) {
	_, api := newServicesCluster(t, 1, 1)
	a := sleeper("/q/alpha", 1)
	a["labels"] = map[string]string{"tier": "front", "env": "prod"}
	b := sleeper("/q/beta", 1)
	b["cmd"] = "sleep 3599"
	b["labels"] = map[string]string{"tier": "back"}
	api.json("POST", "/v2/apps", a, http.StatusCreated, nil)
	api.json("POST", "/v2/apps", b, http.StatusCreated, nil)
	waitRunning(t, api, "/q/alpha", 1, 30*time.Second)
	waitRunning(t, api, "/q/beta", 1, 30*time.Second)
	for query, want := range map[string][]string{
		"":                             {"/q/alpha", "/q/beta"},
		"?id=alp":                      {"/q/alpha"},
		"?cmd=3599":                    {"/q/beta"},
		"?label=env":                   {"/q/alpha"},
		"?label=tier!=front":           {"/q/beta"},
		"?label=tier+in+(front,back)":  {"/q/alpha", "/q/beta"},
		"?label=tier==front,env==prod": {"/q/alpha"},
	} {
		var list struct{ Apps []marathon.App }
		api.json("GET", "/v2/apps"+query, nil, http.StatusOK, &list)
		var got []string
		for _, app := range list.Apps {
			got = append(got, app.ID)
			if app.TasksRunning == nil || app.Deployments == nil || app.Tasks != nil {
				t.Errorf("%s: %s embeds counts %v, deployments %v, tasks %v", query, app.ID, app.TasksRunning, app.Deployments, app.Tasks)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("GET /v2/apps%s = %v, want %v", query, got, want)
		}
	}
	var list struct{ Apps []marathon.App }
	api.json("GET", "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure", nil, http.StatusOK, &list)
	if len(list.Apps) != 2 || len(list.Apps[0].Tasks) != 1 || list.Apps[0].Tasks[0].State != "TASK_RUNNING" {
		t.Errorf("embed=apps.tasks: %+v", list.Apps)
	}
	var tasks marathon.TaskList
	api.json("GET", "/v2/tasks?status=running", nil, http.StatusOK, &tasks)
	if len(tasks.Tasks) != 2 {
		t.Errorf("running tasks: %+v", tasks)
	}
	api.json("GET", "/v2/tasks?status=staging", nil, http.StatusOK, &tasks)
	if len(tasks.Tasks) != 0 {
		t.Errorf("staging tasks: %+v", tasks)
	}
	req, _ := http.NewRequest("GET", api.base+"/v2/tasks", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	if _, err := io.Copy(&sb, resp.Body); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(sb.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "q_alpha\t10") {
		t.Errorf("text/plain tasks:\n%s", sb.String())
	}
	var info marathon.Info
	api.json("GET", "/v2/info", nil, http.StatusOK, &info)
	if info.MarathonConfig.Master == "" || info.HTTPConfig.HTTPPort == 0 || info.MarathonConfig.FrameworkName != "marathon" {
		t.Errorf("info %+v", info)
	}

	// Many apps are listed in id order, once encoded and once from their cached views.
	want := []string{"/q/alpha", "/q/beta"}
	for i := range 150 {
		id := fmt.Sprintf("/r/app-%03d", i)
		api.json("POST", "/v2/apps", sleeper(id, 0), http.StatusCreated, nil)
		want = append(want, id)
	}
	for range 2 { // encoded, then cached
		var l struct{ Apps []marathon.App }
		api.json("GET", "/v2/apps?embed=apps.tasks", nil, http.StatusOK, &l)
		var got []string
		for _, a := range l.Apps {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listed %d apps, want %d in id order: %v", len(got), len(want), got)
		}
	}
}

func TestAppRollback(t *testing.T) {
	_, api := newServicesCluster(t, 1, 1)
	var first, second marathon.App
	api.json("POST", "/v2/apps", sleeper("/back", 1), http.StatusCreated, &first)
	waitNoDeployments(t, api)
	api.json("PUT", "/v2/apps/back", map[string]any{"cmd": "sleep 3599"}, http.StatusOK, nil)
	waitNoDeployments(t, api)
	api.json("GET", "/v2/apps/back", nil, http.StatusOK, &struct{ App *marathon.App }{&second})
	if *second.Cmd == *first.Cmd {
		t.Fatalf("the update did not change cmd: %q", *second.Cmd)
	}

	var res marathon.DeploymentResult
	api.json("PUT", "/v2/apps/back", map[string]any{"version": first.Version, "cmd": "ignored"}, http.StatusOK, &res)
	if res.DeploymentID == "" || res.Version == first.Version || res.Version == second.Version {
		t.Fatalf("rollback answered %+v", res)
	}
	waitNoDeployments(t, api)
	var now marathon.App
	api.json("GET", "/v2/apps/back", nil, http.StatusOK, &struct{ App *marathon.App }{&now})
	if *now.Cmd != *first.Cmd || now.Version != res.Version {
		t.Errorf("after the rollback: cmd %q version %s, want %q %s", *now.Cmd, now.Version, *first.Cmd, res.Version)
	}
	if ts := waitRunning(t, api, "/back", 1, 30*time.Second); ts[0].Version != res.Version {
		t.Errorf("task runs version %s, want %s", ts[0].Version, res.Version)
	}
	api.json("PUT", "/v2/apps/back", map[string]any{"version": "2001-01-01T00:00:00.000Z"}, http.StatusNotFound, nil)
	api.json("PUT", "/v2/apps/nothere", map[string]any{"version": first.Version}, http.StatusNotFound, nil)
}
