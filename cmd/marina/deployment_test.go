package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func TestDeploymentList(t *testing.T) {
	srv, services := fake(t)
	body := marathontest.Example(t, "deployments.json")
	srv.Reply("GET", "/v2/deployments", 200, body)

	r := run(t, "", "deployment", "list", services)
	r.expect(t, 0, nil, nil)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 ||
		strings.Join(strings.Fields(lines[0]), " ") != "ID VERSION AFFECTED STEP CURRENT ACTIONS" ||
		strings.Join(strings.Fields(lines[1]), " ") != "97c136bf-5a28-4821-9d94-480d9fbb01c8 2015-09-30T09:09:17.614Z /foo,/bla 1/1 ScaleApplication /foo" {
		t.Errorf("output:\n%s", r.stdout)
	}
	r = run(t, "", "deployment", "list", services, "--json")
	r.expect(t, 0, nil, nil)
	sameJSON(t, r.stdout, body)
}

func TestDeploymentRollback(t *testing.T) {
	srv, services := fake(t)
	const id = "97c136bf-5a28-4821-9d94-480d9fbb01c8"
	srv.Reply("DELETE", "/v2/deployments/"+id, 200, marathontest.Example(t, "deployments_result.json"))
	srv.Reply("DELETE", "/v2/deployments/unknown", 404, []byte(`{ "message": "DeploymentPlan unknown does not exist" }`))

	run(t, "", "deployment", "rollback", id, services).expect(t, 0,
		[]string{"Rolling back deployment " + id + ": deployment 5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}, nil)
	run(t, "", "deployment", "rollback", "unknown", services).expect(t, 3, nil, []string{"DeploymentPlan unknown does not exist"})

	srv.Reply("DELETE", "/v2/deployments/"+id, 202, nil)
	run(t, "", "deployment", "rollback", id, "--force", services).expect(t, 0, []string{"Cancelled deployment " + id + " without rolling it back"}, nil)
	if req, _ := srv.Last("DELETE", "/v2/deployments/"+id); req.Query.Get("force") != "true" {
		t.Errorf("query = %v", req.Query)
	}
}

func TestLeader(t *testing.T) {
	srv, services := fake(t)
	srv.Reply("GET", "/v2/leader", 200, []byte(`{"leader": "marathon.globalcorp.com:8080"}`))
	srv.Reply("DELETE", "/v2/leader", 200, []byte(`{"message": "Leadership abdicated"}`))

	r := run(t, "", "leader", services)
	r.expect(t, 0, nil, nil)
	if r.stdout != "marathon.globalcorp.com:8080\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	run(t, "", "leader", services, "--json").expect(t, 0, []string{`"leader": "marathon.globalcorp.com:8080"`}, nil)
	run(t, "", "leader", "--abdicate", services).expect(t, 0, []string{"Leadership abdicated"}, nil)

	srv.Reply("GET", "/v2/leader", 404, []byte(`{"message":"There is no leader"}`))
	run(t, "", "leader", services).expect(t, 3, nil, []string{"There is no leader"})
	run(t, "", "leader", "extra", services).expect(t, 2, nil, []string{"unknown command"})
}

func TestClusterFromClientConfig(t *testing.T) {
	srv, _ := fake(t)
	srv.Token = "t0k"
	srv.Reply("GET", "/v2/leader", 200, []byte(`{"leader":"127.0.0.1:8080"}`))
	state := t.TempDir()
	t.Setenv("MARINA_STATE_DIR", state)
	t.Setenv("MARINA_TOKEN", "")
	os.Unsetenv("MARINA_TOKEN")

	run(t, "", "leader").expect(t, 1, nil, []string{"no current cluster", "marina up"})

	cfg := `{"current":"dev","clusters":{"dev":{"provider":"local","masters":[],"master":"","services":"` + srv.URL +
		`","state_file":"` + filepath.Join(state, "dev", "cluster.json") + `"}}}`
	if err := os.WriteFile(filepath.Join(state, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "", "leader").expect(t, 1, nil, []string{"Invalid username or password.", "MARINA_TOKEN"})

	if err := os.MkdirAll(filepath.Join(state, "dev"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "dev", "token"), []byte("t0k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "", "leader").expect(t, 0, []string{"127.0.0.1:8080"}, nil)
	run(t, "", "leader", "--cluster", "prod").expect(t, 1, nil, []string{`no cluster "prod"`, "known: dev"})
}
