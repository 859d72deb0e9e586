package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// burnTask burns a little CPU in its shell, which then waits on a sleep.
func burnTask(id string) mesos.TaskInfo {
	return shellTask(id, `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 600`)
}

func withToken(token string) agentOption {
	return func(c *Config, _ *Agent) { c.AuthToken = token }
}

// TestMonitorStatistics runs a task that burns CPU and reads its statistics, with the task in
// a cgroup (where the host allows) and without, from its process group.
func TestMonitorStatistics(t *testing.T) {
	tests := []struct {
		name    string
		cgroups bool
	}{{"process group", false}, {"cgroup", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []agentOption
			if tt.cgroups {
				if m := cgroups.Detect(); !m.Enabled() {
					t.Skip(m.String())
				}
				opts = append(opts, func(_ *Config, a *Agent) { withCgroups(a) })
			}
			opts = append(opts, withToken("s3cret"))
			fm := newFakeMaster(t)
			dir := t.TempDir()
			killTasks(t, dir)
			a := newTestAgent(t, fm, dir, opts...)
			waitRegistered(t, a)
			fm.launch("fw", burnTask("burn.1"))
			fm.waitUpdate("burn.1", mesos.TaskRunning, wait)

			if code, _ := get(t, a, "/monitor/statistics", ""); code != http.StatusUnauthorized {
				t.Fatalf("without token: %d", code)
			}
			var e statsDoc
			testutil.WaitFor(t, wait, func() error {
				var err error
				e, err = oneStatistics(t, a)
				if err != nil {
					return err
				}
				if s := e.Statistics; s.CPUsUser == nil || *s.CPUsUser+*s.CPUsSystem <= 0 {
					return fmt.Errorf("no CPU time yet: %+v", s)
				}
				// The kernel flushes a memory cgroup's statistics every few seconds.
				if s := e.Statistics; s.MemRSS == nil || *s.MemRSS <= 0 || tt.cgroups && (s.MemTotal == nil || *s.MemTotal <= 0) {
					return fmt.Errorf("no memory figure yet: %+v", s)
				}
				return nil
			})
			s := e.Statistics
			if e.ExecutorID != "burn.1" || e.Source != "burn.1" || e.FrameworkID != "fw" || e.ExecutorName == "" {
				t.Fatalf("entry = %+v", e)
			}
			if s.Timestamp <= 0 || s.CPUsLimit != 0.1 || s.MemLimit != 32<<20 {
				t.Fatalf("limits = %+v", s)
			}
		})
	}
}

type statsDoc struct {
	ExecutorID   string `json:"executor_id"`
	ExecutorName string `json:"executor_name"`
	FrameworkID  string `json:"framework_id"`
	Source       string `json:"source"`
	Statistics   struct {
		Timestamp  float64  `json:"timestamp"`
		CPUsLimit  float64  `json:"cpus_limit"`
		CPUsUser   *float64 `json:"cpus_user_time_secs"`
		CPUsSystem *float64 `json:"cpus_system_time_secs"`
		MemLimit   int64    `json:"mem_limit_bytes"`
		MemTotal   *int64   `json:"mem_total_bytes"`
		MemRSS     *int64   `json:"mem_rss_bytes"`
	} `json:"statistics"`
}

func oneStatistics(t *testing.T, a *Agent) (statsDoc, error) {
	code, body := get(t, a, "/monitor/statistics.json", "s3cret")
	if code != http.StatusOK {
		return statsDoc{}, fmt.Errorf("statistics = %d %s", code, body)
	}
	var list []statsDoc
	if err := json.Unmarshal(body, &list); err != nil {
		return statsDoc{}, err
	}
	if len(list) != 1 {
		return statsDoc{}, fmt.Errorf("want one entry: %s", body)
	}
	return list[0], nil
}

func TestMetricsSnapshot(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir, withToken("s3cret"))
	waitRegistered(t, a)
	fm.launch("fw", shellTask("sleep.1", "sleep 600"))
	fm.waitUpdate("sleep.1", mesos.TaskRunning, wait)
	fm.launch("fw", shellTask("done.1", "true"))
	fm.waitUpdate("done.1", mesos.TaskFinished, wait)
	fm.launch("fw", shellTask("fail.1", "exit 3"))
	fm.waitUpdate("fail.1", mesos.TaskFailed, wait)

	if code, _ := get(t, a, "/metrics/snapshot", ""); code != http.StatusUnauthorized {
		t.Fatalf("without token: %d", code)
	}
	var m map[string]float64
	testutil.WaitFor(t, wait, func() error {
		code, body := get(t, a, "/metrics/snapshot", "s3cret")
		if code != http.StatusOK {
			return fmt.Errorf("snapshot = %d %s", code, body)
		}
		m = nil
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		// The finished tasks hold resources until their updates are acknowledged.
		if m["slave/cpus_used"] > 0.1+1e-9 {
			return fmt.Errorf("finished tasks still counted: %v", m)
		}
		return nil
	})
	want := map[string]float64{
		"slave/tasks_running": 1, "slave/tasks_staging": 0, "slave/tasks_finished": 1, "slave/tasks_failed": 1,
		"slave/tasks_killed": 0, "slave/tasks_lost": 0, "slave/registered": 1, "slave/executors_running": 1,
		"slave/frameworks_active": 1, "slave/cpus_total": 2, "slave/mem_total": 1024, "slave/disk_total": 2048,
		"slave/mem_used": 32, "slave/disk_used": 0,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if math.Abs(m["slave/cpus_used"]-0.1) > 1e-9 || m["slave/uptime_secs"] <= 0 || m["system/cpus_total"] < 1 ||
		m["system/mem_total_bytes"] <= 0 {
		t.Errorf("snapshot = %v", m)
	}
	if _, ok := m["system/load_1min"]; !ok {
		t.Errorf("no load average: %v", m)
	}
}

func TestVersionAndFlags(t *testing.T) {
	fm := newFakeMaster(t)
	a := newTestAgent(t, fm, t.TempDir(), withToken("s3cret"))
	for _, p := range []string{"/version", "/flags"} {
		if code, _ := get(t, a, p, ""); code != http.StatusUnauthorized {
			t.Fatalf("%s without token: %d", p, code)
		}
	}
	code, body := get(t, a, "/version", "s3cret")
	var v struct {
		Version   string  `json:"version"`
		BuildTime float64 `json:"build_time"`
	}
	if err := json.Unmarshal(body, &v); err != nil || code != http.StatusOK || v.Version != agentVersion || v.BuildTime <= 0 {
		t.Fatalf("version = %d %s (%v)", code, body, err)
	}
	code, body = get(t, a, "/flags", "s3cret")
	var f struct {
		Flags map[string]string `json:"flags"`
	}
	if err := json.Unmarshal(body, &f); err != nil || code != http.StatusOK {
		t.Fatalf("flags = %d %s (%v)", code, body, err)
	}
	if f.Flags["hostname"] != "agent-host" || f.Flags["master"] != fm.URL() || f.Flags["attributes"] != "rack:r1" ||
		f.Flags["containerizers"] != "process" || f.Flags["authenticate_http_readwrite"] != "true" {
		t.Fatalf("flags = %s", body)
	}
	if strings.Contains(string(body), "s3cret") {
		t.Fatalf("flags show the token: %s", body)
	}
}
