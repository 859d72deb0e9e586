package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// stateDoc mirrors /master/state as compat/mesos/STATE.md describes it (what tools read).
type stateDoc struct {
	Version           string         `json:"version"`
	ID                string         `json:"id"`
	PID               string         `json:"pid"`
	Hostname          string         `json:"hostname"`
	Leader            string         `json:"leader"`
	ActivatedSlaves   *int           `json:"activated_slaves"`
	DeactivatedSlaves *int           `json:"deactivated_slaves"`
	UnreachableSlaves *int           `json:"unreachable_slaves"`
	ElectedTime       float64        `json:"elected_time"`
	StartTime         float64        `json:"start_time"`
	Slaves            []slaveDoc     `json:"slaves"`
	Frameworks        []frameworkDoc `json:"frameworks"`
	Completed         []frameworkDoc `json:"completed_frameworks"`
	OrphanTasks       []taskDoc      `json:"orphan_tasks"`
	Unregistered      []string       `json:"unregistered_frameworks"`
}

type slaveDoc struct {
	ID            string         `json:"id"`
	Hostname      string         `json:"hostname"`
	Port          int            `json:"port"`
	PID           string         `json:"pid"`
	Attributes    map[string]any `json:"attributes"`
	Resources     map[string]any `json:"resources"`
	UsedResources map[string]any `json:"used_resources"`
	Active        bool           `json:"active"`
}

type frameworkDoc struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	PID             string     `json:"pid"`
	Hostname        string     `json:"hostname"`
	Active          bool       `json:"active"`
	Connected       bool       `json:"connected"`
	FailoverTimeout float64    `json:"failover_timeout"`
	Checkpoint      bool       `json:"checkpoint"`
	Roles           []string   `json:"roles"`
	Tasks           []taskDoc  `json:"tasks"`
	Completed       []taskDoc  `json:"completed_tasks"`
	Unreachable     []taskDoc  `json:"unreachable_tasks"`
	Offers          []offerDoc `json:"offers"`
	Executors       []any      `json:"executors"`
}

type offerDoc struct {
	ID          string         `json:"id"`
	FrameworkID string         `json:"framework_id"`
	SlaveID     string         `json:"slave_id"`
	Resources   map[string]any `json:"resources"`
}

type taskDoc struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	ExecutorID  *string        `json:"executor_id"`
	SlaveID     string         `json:"slave_id"`
	State       string         `json:"state"`
	Resources   map[string]any `json:"resources"`
	Statuses    []struct {
		State           string                 `json:"state"`
		Timestamp       float64                `json:"timestamp"`
		ContainerStatus *mesos.ContainerStatus `json:"container_status"`
	} `json:"statuses"`
	Labels    []mesos.Label        `json:"labels"`
	Discovery *mesos.DiscoveryInfo `json:"discovery"`
}

// checkPID fails unless pid parses as name@host:port, as mesos-dns requires.
func checkPID(t *testing.T, what, pid string) {
	t.Helper()
	name, addr, ok := strings.Cut(pid, "@")
	if !ok || name == "" {
		t.Errorf("%s pid %q is not name@host:port", what, pid)
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		t.Errorf("%s pid %q: %v", what, pid, err)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		t.Errorf("%s pid %q: port: %v", what, pid, err)
	}
}

func TestStateShape(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "marathon", Hostname: "m1",
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}}, "", m)
	ctx := context.Background()
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	ti := newTaskInfo("web.1", o, "cpus:0.5;mem:128;ports:[31001-31001]")
	ti.Labels = &mesos.Labels{Labels: []mesos.Label{{Key: "k", Value: "v"}}}
	ti.Discovery = &mesos.DiscoveryInfo{Visibility: "FRAMEWORK", Name: "web",
		Ports: &mesos.Ports{Ports: []mesos.Port{{Number: 31001, Name: "http", Protocol: "tcp"}}}}
	if err := s.Accept(ctx, []mesos.ID{o.ID}, launch(ti), &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "web.1", mesos.TaskRunning))

	var raw map[string]json.RawMessage
	var doc stateDoc
	testutil.WaitFor(t, 5*time.Second, func() error {
		resp, err := http.Get(m.URL() + "/master/state")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			return fmt.Errorf("content type %q", ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
			return err
		}
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		if len(doc.Frameworks) != 1 || len(doc.Frameworks[0].Offers) == 0 {
			return fmt.Errorf("want 1 framework with its outstanding offer: %s", b)
		}
		return nil
	})
	for _, k := range []string{"version", "id", "pid", "hostname", "leader", "activated_slaves", "deactivated_slaves",
		"unreachable_slaves", "elected_time", "start_time", "slaves", "frameworks", "completed_frameworks",
		"orphan_tasks", "unregistered_frameworks"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/master/state lacks %q", k)
		}
	}
	if doc.Version != "1.11.0" || doc.ID == "" || doc.Leader != doc.PID || *doc.ActivatedSlaves != 1 {
		t.Errorf("bad header fields: %+v", doc)
	}
	checkPID(t, "master", doc.PID)
	checkPID(t, "leader", doc.Leader)
	if len(doc.Slaves) != 1 {
		t.Fatalf("slaves: %+v", doc.Slaves)
	}
	sl := doc.Slaves[0]
	checkPID(t, "slave", sl.PID)
	if !strings.HasPrefix(sl.PID, "slave(1)@") || !sl.Active || sl.Attributes["rack"] != "r1" ||
		sl.Resources["cpus"] != 4.0 || sl.Resources["ports"] != "[31000-31999]" || sl.UsedResources["cpus"] != 0.5 {
		t.Errorf("slave: %+v", sl)
	}
	fw := doc.Frameworks[0]
	checkPID(t, "framework", fw.PID)
	if !strings.HasPrefix(fw.PID, "scheduler-") || !fw.Active || !fw.Connected || fw.FailoverTimeout != 3600 ||
		fw.Hostname != "m1" || len(fw.Roles) != 1 || fw.Roles[0] != "*" {
		t.Errorf("framework: %+v", fw)
	}
	if fw.Completed == nil || fw.Unreachable == nil || fw.Executors == nil || doc.OrphanTasks == nil ||
		doc.Completed == nil || doc.Unregistered == nil {
		t.Errorf("lists must be present even when empty")
	}
	if len(fw.Tasks) != 1 {
		t.Fatalf("tasks: %+v", fw.Tasks)
	}
	tk := fw.Tasks[0]
	if tk.ID != "web.1" || tk.Name != "web.1" || tk.FrameworkID != fw.ID || tk.SlaveID != sl.ID ||
		tk.State != "TASK_RUNNING" || tk.ExecutorID == nil || tk.Resources["ports"] != "[31001-31001]" ||
		tk.Resources["cpus"] != 0.5 || len(tk.Labels) != 1 || tk.Discovery == nil || tk.Discovery.Ports.Ports[0].Number != 31001 {
		t.Errorf("task: %+v", tk)
	}
	if len(tk.Statuses) != 1 || tk.Statuses[0].State != "TASK_RUNNING" || tk.Statuses[0].Timestamp == 0 ||
		tk.Statuses[0].ContainerStatus == nil || tk.Statuses[0].ContainerStatus.NetworkInfos[0].IPAddresses[0].IPAddress != "127.0.0.1" {
		t.Errorf("statuses: %+v", tk.Statuses)
	}
	if of := fw.Offers[0]; of.SlaveID != sl.ID || of.FrameworkID != fw.ID || of.Resources["cpus"] != 3.5 {
		t.Errorf("offer: %+v", of)
	}

	// The other operator endpoints answer too.
	for _, p := range []string{"/state.json", "/master/state-summary", "/master/slaves", "/master/frameworks",
		"/master/tasks?limit=1", "/metrics/snapshot", "/version", "/health"} {
		if code := getJSON(t, m, p, nil); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	var tasks struct {
		Tasks []taskDoc `json:"tasks"`
	}
	getJSON(t, m, "/master/tasks?task_id=web.1&framework_id="+fw.ID, &tasks)
	if len(tasks.Tasks) != 1 {
		t.Errorf("/master/tasks: %+v", tasks)
	}
	var snap map[string]float64
	getJSON(t, m, "/metrics/snapshot", &snap)
	if snap["master/elected"] != 1 || snap["master/tasks_running"] != 1 || snap["master/slaves_active"] != 1 ||
		snap["master/cpus_total"] != 4 || snap["master/frameworks_active"] != 1 {
		t.Errorf("snapshot: %v", snap)
	}
	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	_, _ = ioCopy(body, resp)
	for _, want := range []string{"marina_master_elected 1", "marina_master_allocation_duration_seconds_bucket", "marina_master_tasks_running 1"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
