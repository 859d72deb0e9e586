package services_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// masterFramework is the marathon framework as the leading master's /master/state shows it.
type masterFramework struct {
	Roles []string `json:"roles"`
	Tasks []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Role  string `json:"role"`
	} `json:"tasks"`
}

func marathonFramework(c *testcluster.Cluster) (*masterFramework, error) {
	var state struct {
		Frameworks []struct {
			Name string `json:"name"`
			masterFramework
		} `json:"frameworks"`
	}
	if err := c.GetJSON("/master/state", &state); err != nil {
		return nil, err
	}
	for _, f := range state.Frameworks {
		if f.Name == "marathon" {
			return &f.masterFramework, nil
		}
	}
	return nil, fmt.Errorf("no marathon framework among %d", len(state.Frameworks))
}

// waitMasterRoles waits until the master shows the framework subscribed in roles and running
// one task of each app (by task id prefix) under the role given.
func waitMasterRoles(t *testing.T, c *testcluster.Cluster, roles []string, taskRoles map[string]string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() error {
		f, err := marathonFramework(c)
		if err != nil {
			return err
		}
		if !slices.Equal(f.Roles, roles) {
			return fmt.Errorf("framework roles %v, want %v", f.Roles, roles)
		}
		for prefix, role := range taskRoles {
			found := false
			for _, task := range f.Tasks {
				if strings.HasPrefix(task.ID, prefix) && task.State == "TASK_RUNNING" {
					if task.Role != role {
						return fmt.Errorf("task %s runs under role %q, want %q", task.ID, task.Role, role)
					}
					found = true
				}
			}
			if !found {
				return fmt.Errorf("no running task %s*: %+v", prefix, f.Tasks)
			}
		}
		return nil
	})
}

// TestLaunchUnderAppRole runs an app of the root group under the default role, then creates a
// group enforcing its role: the framework subscribes again with the new role, and the group's
// app runs under it while the root app keeps running under "*".
func TestLaunchUnderAppRole(t *testing.T) {
	c, api := newServicesCluster(t, 1, 1)

	api.json("POST", "/v2/apps", sleeper("/web", 1), http.StatusCreated, nil)
	ts := waitRunning(t, api, "/web", 1, 30*time.Second)
	if ts[0].Role != "*" {
		t.Errorf("/web task role %q, want *", ts[0].Role)
	}
	waitMasterRoles(t, c, []string{"*"}, map[string]string{"web.": "*"})

	// A role no subscription had: offers of it come once the framework subscribed again.
	api.json("POST", "/v2/groups", map[string]any{"id": "/dev", "enforceRole": true, "apps": []any{sleeper("api", 1)}}, http.StatusCreated, nil)
	ts = waitRunning(t, api, "/dev/api", 1, 30*time.Second)
	if ts[0].Role != "dev" {
		t.Errorf("/dev/api task role %q, want dev", ts[0].Role)
	}
	waitMasterRoles(t, c, []string{"*", "dev"}, map[string]string{"web.": "*", "dev_api.": "dev"})
	if ts := api.tasks("/web"); len(ts) != 1 || ts[0].State != "TASK_RUNNING" {
		t.Errorf("/web tasks after the new subscription: %+v", ts)
	}

	// Scaling the group's app up launches under its role too.
	api.json("PUT", "/v2/apps/dev/api", map[string]any{"instances": 2}, http.StatusOK, nil)
	for _, task := range waitRunning(t, api, "/dev/api", 2, 30*time.Second) {
		if task.Role != "dev" {
			t.Errorf("/dev/api task %s role %q, want dev", task.ID, task.Role)
		}
	}

	// Changing an app's role alone restarts its tasks under the new role.
	api.json("POST", "/v2/apps", sleeper("/ops/tool", 1), http.StatusCreated, nil)
	before := waitRunning(t, api, "/ops/tool", 1, 30*time.Second)
	if before[0].Role != "*" {
		t.Errorf("/ops/tool task role %q, want *", before[0].Role)
	}
	api.json("PUT", "/v2/apps/ops/tool", map[string]any{"role": "ops"}, http.StatusOK, nil)
	testutil.WaitFor(t, 30*time.Second, func() error {
		ts := api.tasks("/ops/tool")
		if len(ts) != 1 || ts[0].State != "TASK_RUNNING" || ts[0].ID == before[0].ID || ts[0].Role != "ops" {
			return fmt.Errorf("/ops/tool tasks %+v", ts)
		}
		return nil
	})
	waitMasterRoles(t, c, []string{"*", "dev", "ops"}, map[string]string{"ops_tool.": "ops"})

	var info marathon.Info
	api.json("GET", "/v2/info", nil, http.StatusOK, &info)
	if info.MarathonConfig.MesosRole != "*" {
		t.Errorf("/v2/info mesos_role %q, want *", info.MarathonConfig.MesosRole)
	}
}
