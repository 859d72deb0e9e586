package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestMain lets the agents of the in-process cluster run tasks: they re-execute this binary as
// the task supervisor.
func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	os.Exit(m.Run())
}

// TestCLIAgainstACluster drives a real in-process cluster with the CLI: create an app and wait
// for its deployment, scale it, list its tasks, read a task's stdout from its sandbox, delete it.
func TestCLIAgainstACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1, Services: true})
	c.WaitForServicesLeader(20 * time.Second)
	flags := []string{"--services=" + strings.Join(c.ServicesURLs(), ","), "--master=" + strings.Join(c.MasterURLs(), ",")}
	cli := func(args ...string) result {
		t.Helper()
		return run(t, "", append(args, flags...)...)
	}

	def := writeFile(t, "web.json", []byte(`{"id": "/web", "cmd": "echo hello-from-marina; exec sleep 3600",
		"cpus": 0.1, "mem": 16, "instances": 1}`))
	cli("app", "create", "-f", def, "--wait").expect(t, 0, []string{"Created app /web: deployment "},
		[]string{"Waiting for deployment", "Deployment", "succeeded"})

	cli("app", "scale", "/web", "2", "--wait").expect(t, 0, []string{"Scaling app /web to 2 instances"}, []string{"succeeded"})
	cli("app", "list").expect(t, 0, []string{"/web", "echo hello-from-marina"}, nil)

	var tasks []api.Task
	testutil.WaitFor(t, 30*time.Second, func() error {
		r := cli("task", "list", "/web", "--json")
		if r.code != 0 {
			return fmt.Errorf("task list: exit %d: %s", r.code, r.stderr)
		}
		var list api.TaskList
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			return err
		}
		running := 0
		for _, tk := range list.Tasks {
			if tk.State == "TASK_RUNNING" {
				running++
			}
		}
		if running != 2 {
			return fmt.Errorf("%d of %d tasks running", running, len(list.Tasks))
		}
		tasks = list.Tasks
		return nil
	})
	cli("task", "list").expect(t, 0, []string{tasks[0].ID, tasks[1].ID, "TASK_RUNNING"}, nil)
	cli("app", "show", "/web").expect(t, 0, []string{"Instances:", "2 (running 2", tasks[0].ID, tasks[1].ID}, nil)
	cli("leader").expect(t, 0, []string{strings.TrimPrefix(c.ServicesURLs()[0], "http://")}, nil)

	testutil.WaitFor(t, 20*time.Second, func() error {
		r := cli("task", "logs", tasks[0].ID)
		if r.code != 0 || !strings.Contains(r.stdout, "hello-from-marina\n") {
			return fmt.Errorf("task logs: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		return nil
	})

	cli("app", "delete", "/web", "--wait").expect(t, 0, []string{"Deleting app /web"}, []string{"succeeded"})
	cli("app", "show", "/web").expect(t, 3, nil, []string{"does not exist"})
}
