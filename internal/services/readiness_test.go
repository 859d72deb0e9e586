package services_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestReadiness runs an app whose readiness check passes only some seconds after its task
// runs: its deployment waits for it, and /v2/apps?embed=apps.readiness shows the results.
func TestReadiness(t *testing.T) {
	if !lookPath("busybox") {
		t.Skip("busybox is not installed: no HTTP server to run")
	}
	_, api := newServicesCluster(t, 1, 1)
	app := map[string]any{
		"id": "/slow", "cmd": "(sleep 3; touch ready) & exec busybox httpd -f -p $PORT0 -h .", "cpus": 0.1, "mem": 32,
		"portDefinitions": []map[string]any{{"port": 0, "name": "http"}},
		"readinessChecks": []map[string]any{{"name": "ready", "path": "/ready", "portName": "http", "intervalSeconds": 2, "timeoutSeconds": 1}},
	}
	api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
	readiness := func() ([]marathon.TaskReadinessCheckResult, []marathon.Deployment) {
		var list struct{ Apps []marathon.App }
		api.json("GET", "/v2/apps?embed=apps.readiness", nil, http.StatusOK, &list)
		var deps []marathon.Deployment
		api.json("GET", "/v2/deployments", nil, http.StatusOK, &deps)
		return list.Apps[0].ReadinessCheckResults, deps
	}
	testutil.WaitFor(t, 20*time.Second, func() error {
		rs, deps := readiness()
		if len(rs) != 1 || rs[0].Ready || rs[0].Name != "ready" {
			return fmt.Errorf("readiness %+v, want one result not ready yet", rs)
		}
		if len(deps) != 1 || len(deps[0].CurrentActions) != 1 || len(deps[0].CurrentActions[0].ReadinessCheckResults) != 1 {
			t.Fatalf("deployments %+v while the task is not ready, want one with its readiness result", deps)
		}
		return nil
	})
	testutil.WaitFor(t, 20*time.Second, func() error {
		if rs, deps := readiness(); len(deps) != 0 || len(rs) != 1 || !rs[0].Ready {
			return fmt.Errorf("readiness %+v, %d deployments; want ready and none", rs, len(deps))
		}
		return nil
	})
}
