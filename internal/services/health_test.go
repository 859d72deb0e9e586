package services_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestHealthCheckReplacement runs an app with a COMMAND health check that a file breaks: the
// instance turns healthy (counts, healthCheckResults, events), then unhealthy once the file
// appears, is killed by its agent after maxConsecutiveFailures and replaced by a new instance
// that turns healthy once the file is gone, with Marathon's health events all along.
func TestHealthCheckReplacement(t *testing.T) {
	_, api := newServicesCluster(t, 1, 1)
	broken := filepath.Join(t.TempDir(), "broken")
	ev := openEvents(t, api.base, "?event_type=health_status_changed_event&event_type=instance_health_changed_event"+
		"&event_type=failed_health_check_event&event_type=unhealthy_instance_kill_event")
	app := sleeper("/checked", 1)
	app["healthChecks"] = []map[string]any{{
		"protocol": "COMMAND", "command": map[string]any{"value": "test ! -e " + broken},
		"delaySeconds": 0, "gracePeriodSeconds": 1, "intervalSeconds": 1, "timeoutSeconds": 2, "maxConsecutiveFailures": 2,
	}}
	api.json("POST", "/v2/apps", app, http.StatusCreated, nil)

	healthy := func() marathon.Task {
		t.Helper()
		var task marathon.Task
		testutil.WaitFor(t, 30*time.Second, func() error {
			var got struct{ App marathon.App }
			api.json("GET", "/v2/apps/checked", nil, http.StatusOK, &got)
			a := got.App
			if a.TasksHealthy == nil || *a.TasksHealthy != 1 || len(a.Tasks) != 1 || len(a.Tasks[0].HealthCheckResults) != 1 {
				return fmt.Errorf("healthy %v, tasks %+v", a.TasksHealthy, a.Tasks)
			}
			if r := a.Tasks[0].HealthCheckResults[0]; !r.Alive || r.FirstSuccess == "" || r.LastSuccess == "" || r.ConsecutiveFailures != 0 || r.InstanceID != a.Tasks[0].ID {
				return fmt.Errorf("healthCheckResults %+v", r)
			}
			task = a.Tasks[0]
			return nil
		})
		return task
	}
	first := healthy()
	var changed marathon.HealthStatusChangedEvent
	_, data := ev.next(t, 10*time.Second, marathon.EventHealthStatusChangedType)
	if err := json.Unmarshal(data, &changed); err != nil || !changed.Alive || changed.AppID != "/checked" || changed.InstanceID != first.ID || changed.Version == "" {
		t.Errorf("health_status_changed_event %s (%v)", data, err)
	}
	_, data = ev.next(t, 10*time.Second, marathon.EventInstanceHealthChangedType)
	var inst marathon.InstanceHealthChangedEvent
	if err := json.Unmarshal(data, &inst); err != nil || inst.Healthy == nil || !*inst.Healthy || inst.RunSpecID != "/checked" {
		t.Errorf("instance_health_changed_event %s (%v)", data, err)
	}

	if err := os.WriteFile(broken, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, data = ev.next(t, 20*time.Second, marathon.EventFailedHealthCheckType)
	var failed marathon.HealthCheckEvent
	if err := json.Unmarshal(data, &failed); err != nil || failed.InstanceID != first.ID || failed.HealthCheck == nil || failed.HealthCheck.Protocol != marathon.ProtocolCommand {
		t.Errorf("failed_health_check_event %s (%v)", data, err)
	}
	_, data = ev.next(t, 20*time.Second, marathon.EventUnhealthyInstanceKillType)
	var killed marathon.UnhealthyKillEvent
	if err := json.Unmarshal(data, &killed); err != nil || killed.TaskID != first.ID || killed.AppID != "/checked" || killed.Host == "" {
		t.Errorf("unhealthy_instance_kill_event %s (%v)", data, err)
	}
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	if second := healthy(); second.ID == first.ID {
		t.Errorf("instance %s was not replaced", first.ID)
	}
}
