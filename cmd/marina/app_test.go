package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func TestAppList(t *testing.T) {
	srv, services := fake(t)
	body := marathontest.Example(t, "app_list.json")
	srv.Reply("GET", "/v2/apps", 200, body)

	r := run(t, "", "app", "list", services, "--label", "env==prod")
	r.expect(t, 0, nil, nil)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ID INSTANCES RUNNING STAGED HEALTHY CPUS MEM DEPLOYMENTS COMMAND" {
		t.Errorf("header = %q", lines[0])
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "/myapp 3 0 0 - 0.1 5 1 env && sleep 60" {
		t.Errorf("row = %q", lines[1])
	}
	req, _ := srv.Last("GET", "/v2/apps")
	if req.Query.Get("label") != "env==prod" {
		t.Errorf("query = %v", req.Query)
	}

	r = run(t, "", "app", "list", services, "--json")
	r.expect(t, 0, nil, nil)
	sameJSON(t, r.stdout, body)
}

func TestAppShow(t *testing.T) {
	srv, services := fake(t)
	app := `{"app":{"id":"/web","cmd":"python3 -m http.server","instances":2,"cpus":0.5,"mem":64,"disk":0,
		"version":"2024-01-01T00:00:00.000Z","tasksStaged":0,"tasksRunning":2,"tasksHealthy":0,"tasksUnhealthy":0,
		"deployments":[],"labels":{"tier":"web"},"constraints":[["hostname","UNIQUE"]],
		"tasks":` + string(tasksOf(t, "app_tasks.json")) + `}}`
	srv.Reply("GET", "/v2/apps/web", 200, []byte(app))
	srv.Reply("GET", "/v2/apps/nope", 404, []byte(`{"message":"App '/nope' does not exist"}`))

	r := run(t, "", "app", "show", "/web", services)
	r.expect(t, 0, []string{
		"ID:", "/web", "2 (running 2, staged 0, healthy 0, unhealthy 0)", "cpus 0.5, mem 64 MiB",
		"python3 -m http.server", "hostname UNIQUE", "tier=web",
		"minecraft_survival-world.instance-564bd685-4c30-11e5-98c1-be5b2935a987", "TASK_STAGING", "31756",
	}, nil)
	req, _ := srv.Last("GET", "/v2/apps/web")
	if !strings.Contains(strings.Join(req.Query["embed"], ","), "app.tasks") {
		t.Errorf("embed = %v", req.Query["embed"])
	}

	run(t, "", "app", "show", "/web", services, "--json").expect(t, 0, []string{`"app": {`}, nil)
	run(t, "", "app", "show", "/nope", services).expect(t, 3, nil, []string{"App '/nope' does not exist"})
	run(t, "", "app", "show", services).expect(t, 2, nil, []string{"accepts 1 arg(s), received 0", "marina app show --help"})
}

// tasksOf returns the "tasks" array of an example.
func tasksOf(t *testing.T, name string) []byte {
	b := string(marathontest.Example(t, name))
	i, j := strings.Index(b, "["), strings.LastIndex(b, "]")
	return []byte(b[i : j+1])
}

func TestAppCreate(t *testing.T) {
	srv, services := fake(t)
	def := marathontest.Example(t, "app.json")
	file := writeFile(t, "app.json", def)
	srv.Reply("POST", "/v2/apps", 201, def, "Marathon-Deployment-Id", "dep-1")

	r := run(t, "", "app", "create", "-f", file, services)
	r.expect(t, 0, []string{"Created app /foo: deployment dep-1"}, nil)
	if req, _ := srv.Last("POST", "/v2/apps"); string(req.Body) != string(def) {
		t.Error("the definition was not sent unchanged")
	}
	// From standard input, with --json: the API's answer.
	r = run(t, string(def), "app", "create", "-f", "-", services, "--json")
	r.expect(t, 0, nil, nil)
	sameJSON(t, r.stdout, def)

	run(t, "", "app", "create", services).expect(t, 2, nil, []string{"-f FILE"})
	run(t, "", "app", "create", "-f", writeFile(t, "bad.json", []byte(`{"id": `)), services).
		expect(t, 5, nil, []string{"not an app definition"})
}

func TestAppChangeErrors(t *testing.T) {
	srv, services := fake(t)
	srv.Reply("POST", "/v2/apps", 422, []byte(`{"message":"Object is not valid","details":[
		{"path":"/upgradeStrategy/minimumHealthCapacity","errors":["is greater than 1"]},
		{"path":"/cpus","errors":["must be at least 0.001","is not a number"]}]}`))
	srv.Reply("PUT", "/v2/apps/web", 409, []byte(`{"message":"App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.","deployments":[{"id":"97c136bf-5a28-4821-9d94-480d9fbb01c8"}]}`))
	srv.Reply("POST", "/v2/apps/nope/restart", 404, []byte(`{ "message": "App '/nope' does not exist" }`))
	srv.Reply("PUT", "/v2/apps/bad", 400, []byte(`{"message":"Invalid JSON","details":[{"path":"/id","errors":["error.expected.jsstring"]}]}`))
	file := writeFile(t, "app.json", []byte(`{"id":"/web","cmd":"sleep 1","cpus":2}`))

	run(t, "", "app", "create", "-f", file, services).expect(t, 5, nil, []string{
		"marina: Object is not valid",
		"  /upgradeStrategy/minimumHealthCapacity: is greater than 1",
		"  /cpus: must be at least 0.001; is not a number",
	})
	run(t, "", "app", "scale", "/web", "3", services).expect(t, 4, nil, []string{
		"App is locked", "deployments in progress: 97c136bf-5a28-4821-9d94-480d9fbb01c8", "--force",
	})
	run(t, "", "app", "update", "/web", "-f", file, services).expect(t, 4, nil, []string{"--force"})
	run(t, "", "app", "restart", "nope", services).expect(t, 3, nil, []string{"App '/nope' does not exist"})
	run(t, "", "app", "update", "bad", "-f", file, services).expect(t, 5, nil, []string{"Invalid JSON", "/id: error.expected.jsstring"})
	run(t, "", "app", "scale", "/web", "many", services).expect(t, 2, nil, []string{`not "many"`})
	run(t, "", "app", "scale", "/web", "-1", services).expect(t, 2, nil, nil)
}

func TestAppChangesSendForce(t *testing.T) {
	srv, services := fake(t)
	result := marathontest.Example(t, "deployments_result.json")
	const dep = "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"
	for _, c := range []struct {
		method, path string
		args         []string
		out          string
	}{
		{"PUT", "/v2/apps/web", []string{"app", "rollback", "/web", "2015-01-01T00:00:00.000Z", "--force"}, "Rolling app /web back to version 2015-01-01T00:00:00.000Z: deployment " + dep},
		{"PUT", "/v2/apps/web", []string{"app", "scale", "/web", "5", "--force"}, "Scaling app /web to 5 instances: deployment " + dep},
		{"POST", "/v2/apps/web/restart", []string{"app", "restart", "/web", "--force"}, "Restarting app /web: deployment " + dep},
		{"DELETE", "/v2/apps/web", []string{"app", "delete", "/web", "--force"}, "Deleting app /web: deployment " + dep},
		{"PUT", "/v2/apps/web", []string{"app", "update", "/web", "--force", "-f", writeFile(t, "u.json", []byte(`{"cmd":"sleep 2"}`))}, "Updated app /web: deployment " + dep},
	} {
		srv.Reply(c.method, c.path, 200, result)
		run(t, "", append(c.args, services)...).expect(t, 0, []string{c.out, "(version 2015-09-29T15:59:51.164Z)"}, nil)
		if req, _ := srv.Last(c.method, c.path); req.Query.Get("force") != "true" {
			t.Errorf("%v: query %v lacks force=true", c.args, req.Query)
		}
	}
	if req, _ := srv.Last("PUT", "/v2/apps/web"); string(req.Body) != `{"cmd":"sleep 2"}` {
		t.Errorf("update body = %s", req.Body)
	}
}

// deploymentFake serves a scale that starts deployment dep, lists it until end is called, and
// returns the steps plan.
func deploymentFake(t *testing.T, srv *marathontest.Server, dep string) (api.DeploymentPlan, func()) {
	srv.ReplyJSON("PUT", "/v2/apps/web", 200, api.DeploymentResult{DeploymentID: dep, Version: "v2"})
	plan := api.DeploymentPlan{ID: dep, Version: "v2", Steps: []api.DeploymentStep{
		{Actions: []api.DeploymentAction{{Action: api.ActionScaleApplication, App: "/web"}}},
		{Actions: []api.DeploymentAction{{Action: api.ActionRestartApplication, App: "/web"}}},
	}}
	var mu sync.Mutex
	listed := true
	srv.Handle("GET", "/v2/deployments", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !listed {
			_, _ = io.WriteString(w, "[]")
			return
		}
		_, _ = io.WriteString(w, `[{"id":"`+dep+`","version":"v2","affectedApps":["/web"],"affectedPods":[],"steps":[],"currentActions":[],"currentStep":1,"totalSteps":2}]`)
	})
	return plan, func() { mu.Lock(); listed = false; mu.Unlock() }
}

func TestAppScaleWaitFollowsTheDeployment(t *testing.T) {
	srv, services := fake(t)
	plan, end := deploymentFake(t, srv, "dep-9")
	ch := runAsync(t, context.Background(), "app", "scale", "/web", "3", "--wait", services)
	if err := srv.WaitSubscribers(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{api.EventDeploymentInfoType, api.EventDeploymentStepSuccessType, api.EventDeploymentInfoType, api.EventDeploymentStepSuccessType} {
		srv.Publish(typ, api.DeploymentStepEvent{EventMeta: api.EventMeta{EventType: typ}, Plan: plan, CurrentStep: plan.Steps[i/2]})
	}
	end()
	srv.Publish(api.EventDeploymentSuccessType, api.DeploymentEvent{EventMeta: api.EventMeta{EventType: api.EventDeploymentSuccessType}, ID: "dep-9", Plan: &plan})
	r := awaitRun(t, ch)
	r.expect(t, 0, []string{"Scaling app /web to 3 instances: deployment dep-9"}, []string{
		"Waiting for deployment dep-9\n",
		"  step 1/2 started: ScaleApplication /web\n",
		"  step 1/2 done: ScaleApplication /web\n",
		"  step 2/2 started: RestartApplication /web\n",
		"  step 2/2 done: RestartApplication /web\n",
	})
	if !regexp.MustCompile(`Deployment dep-9 succeeded \([0-9.]+m?s\)`).MatchString(r.stderr) {
		t.Errorf("no success line:\n%s", r.stderr)
	}
}

func TestAppScaleWaitFailedDeployment(t *testing.T) {
	srv, services := fake(t)
	plan, _ := deploymentFake(t, srv, "dep-7")
	ch := runAsync(t, context.Background(), "app", "scale", "/web", "3", "--wait", "--json", services)
	if err := srv.WaitSubscribers(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	srv.Publish(api.EventDeploymentStepFailureType, api.DeploymentStepEvent{EventMeta: api.EventMeta{EventType: api.EventDeploymentStepFailureType}, Plan: plan, CurrentStep: plan.Steps[0]})
	srv.Publish(api.EventDeploymentFailedType, api.DeploymentEvent{EventMeta: api.EventMeta{EventType: api.EventDeploymentFailedType}, ID: "dep-7", Plan: &plan, Reason: "no offers"})
	r := awaitRun(t, ch)
	r.expect(t, 1, nil, []string{"  step 1/2 failed: ScaleApplication /web", "marina: deployment dep-7 failed: no offers"})
	sameJSON(t, r.stdout, []byte(`{"deploymentId":"dep-7","version":"v2"}`))
}

func TestAppQueue(t *testing.T) {
	srv, services := fake(t)
	srv.ReplyJSON("GET", "/v2/queue", 200, api.Queue{Queue: []api.QueueItem{{
		App: &api.App{ID: "/uniq"}, Count: 1, Delay: api.QueueDelay{TimeLeftSeconds: 12},
		ProcessedOffersSummary: api.ProcessedOffersSummary{ProcessedOffersCount: 9, UnusedOffersCount: 3, RejectSummaryLastOffers: []api.DeclinedOfferStep{
			{Reason: "UnfulfilledConstraint", Declined: 3, Processed: 3}, {Reason: "InsufficientCpus", Processed: 0},
		}},
	}}})
	r := run(t, "", "app", "queue", services)
	r.expect(t, 0, []string{"DECLINED FOR", "/uniq", "12s", "UnfulfilledConstraint (3)"}, nil)
	if strings.Contains(r.stdout, "InsufficientCpus") {
		t.Errorf("a reason that declined nothing is listed:\n%s", r.stdout)
	}

	srv.Reply("DELETE", "/v2/queue/shop/web/delay", 204, nil)
	srv.Reply("DELETE", "/v2/queue/nope/delay", 404, []byte(`{"message":"Application /nope not found in tasks queue."}`))
	run(t, "", "app", "reset-delay", "/shop/web", services).expect(t, 0, []string{"The launch delay of /shop/web is reset"}, nil)
	if _, ok := srv.Last("DELETE", "/v2/queue/shop/web/delay"); !ok {
		t.Error("no DELETE /v2/queue/shop/web/delay")
	}
	run(t, "", "app", "reset-delay", "/nope", services).expect(t, 3, nil, []string{"Application /nope not found in tasks queue."})
}

// An update from a file that carries a version (as app show --json prints it) changes the app
// instead of rolling it back; rollback sends the version alone.
func TestAppUpdateAndRollbackBodies(t *testing.T) {
	srv, services := fake(t)
	srv.Reply("PUT", "/v2/apps/web", 200, marathontest.Example(t, "deployments_result.json"))
	file := writeFile(t, "u.json", []byte(`{"cmd":"sleep 2","version":"2015-01-01T00:00:00.000Z","versionInfo":{}}`))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"app", "update", "/web", "-f", file}, `{"cmd":"sleep 2"}`},
		{[]string{"app", "rollback", "/web", "2015-01-01T00:00:00.000Z"}, `{"version":"2015-01-01T00:00:00.000Z"}`},
	} {
		run(t, "", append(c.args, services)...).expect(t, 0, nil, nil)
		req, _ := srv.Last("PUT", "/v2/apps/web")
		sameJSON(t, string(req.Body), []byte(c.want))
	}
}
