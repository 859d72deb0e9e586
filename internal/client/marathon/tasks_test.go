package marathon_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func TestTasks(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/tasks", 200, marathontest.Example(t, "tasks.json"))
	srv.Reply("GET", "/v2/apps/minecraft/survival-world/tasks", 200, marathontest.Example(t, "app_tasks.json"))
	c := newClient(t, srv.URL)

	all, err := c.AllTasks(context.Background(), "running", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].AppID != "/frontend-foosball" || all[1].Ports[0] != 31721 {
		t.Errorf("tasks = %+v", all)
	}
	if req, _ := srv.Last("GET", "/v2/tasks"); !reflect.DeepEqual(req.Query["status[]"], []string{"running", "staging"}) {
		t.Errorf("query = %v", req.Query)
	}

	tasks, err := c.Tasks(context.Background(), "/minecraft/survival-world")
	if err != nil || len(tasks) != 1 || tasks[0].SlaveID != "agent0" || tasks[0].State != "TASK_STAGING" {
		t.Fatalf("Tasks = %+v, %v", tasks, err)
	}
}

func TestKillTask(t *testing.T) {
	srv := marathontest.New(t)
	const path = "/v2/apps/minecraft/survival-world/tasks/minecraft_survival-world.instance-564bd685-4c30-11e5-98c1-be5b2935a987"
	srv.Reply("DELETE", path, 200, marathontest.Example(t, "app_task.json"))
	c := newClient(t, srv.URL)
	res, err := c.KillTask(context.Background(), "/minecraft/survival-world", "minecraft_survival-world.instance-564bd685-4c30-11e5-98c1-be5b2935a987", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeploymentID != "" || len(res.Tasks) != 1 || res.Tasks[0].Host != "srv7.hw.ca1.mesosphere.com" {
		t.Errorf("result = %+v", res)
	}
	if req, _ := srv.Last("DELETE", path); req.Query.Get("wipe") != "true" || req.Query.Has("scale") {
		t.Errorf("query = %v", req.Query)
	}
	if _, err := c.KillTask(context.Background(), "/a", "t", true, true); err == nil {
		t.Error("scale with wipe was accepted")
	}

	srv.Reply("DELETE", "/v2/apps/nope/tasks/t", 404, []byte(`{"message":"Task 't' does not exist"}`))
	if _, err := c.KillTask(context.Background(), "/nope", "t", false, false); !errors.Is(err, marathon.ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}

func TestKillTasks(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("POST", "/v2/tasks/delete", 200, marathontest.Example(t, "tasks.json"))
	srv.Reply("DELETE", "/v2/apps/web/tasks", 200, marathontest.Example(t, "deployments_result.json"))
	c := newClient(t, srv.URL)
	res, err := c.KillTasks(context.Background(), []string{"a", "b"}, false, false)
	if err != nil || len(res.Tasks) != 2 {
		t.Fatalf("KillTasks = %+v, %v", res, err)
	}
	if req, _ := srv.Last("POST", "/v2/tasks/delete"); string(req.Body) != `{"ids":["a","b"]}` {
		t.Errorf("body = %s", req.Body)
	}
	res, err = c.KillAppTasks(context.Background(), "/web", "10.0.0.2", true, false)
	if err != nil || res.DeploymentID == "" {
		t.Fatalf("KillAppTasks = %+v, %v", res, err)
	}
	if req, _ := srv.Last("DELETE", "/v2/apps/web/tasks"); req.Query.Get("host") != "10.0.0.2" || req.Query.Get("scale") != "true" {
		t.Errorf("query = %v", req.Query)
	}
}

func TestDeploymentsAndLeader(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/deployments", 200, marathontest.Example(t, "deployments.json"))
	srv.Reply("DELETE", "/v2/deployments/97c136bf", 202, nil)
	srv.Reply("GET", "/v2/leader", 200, []byte(`{"leader": "marathon.globalcorp.com:8080"}`))
	srv.Reply("DELETE", "/v2/leader", 200, []byte(`{"message": "Leadership abdicated"}`))
	c := newClient(t, srv.URL)
	ctx := context.Background()

	ds, err := c.Deployments(ctx)
	if err != nil || len(ds) != 1 || ds[0].CurrentStep != 1 || ds[0].Steps[1].Actions[0].Pod != "/bla" ||
		ds[0].CurrentActions[0].ReadinessCheckResults[0].LastResponse.Status != 500 {
		t.Fatalf("Deployments = %+v, %v", ds, err)
	}
	res, err := c.RollbackDeployment(ctx, "97c136bf", true)
	if err != nil || res.DeploymentID != "" {
		t.Fatalf("forced rollback = %+v, %v", res, err)
	}
	if l, err := c.Leader(ctx); err != nil || l != "marathon.globalcorp.com:8080" {
		t.Fatalf("Leader = %q, %v", l, err)
	}
	if m, err := c.AbdicateLeader(ctx); err != nil || m != "Leadership abdicated" {
		t.Fatalf("AbdicateLeader = %q, %v", m, err)
	}
	srv.Reply("GET", "/v2/leader", 404, []byte(`{"message":"There is no leader"}`))
	if _, err := c.Leader(ctx); !errors.Is(err, marathon.ErrNoLeader) || !errors.Is(err, marathon.ErrNotFound) {
		t.Fatalf("no leader: %v", err)
	}
}
