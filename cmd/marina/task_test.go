package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func TestTaskList(t *testing.T) {
	srv, services := fake(t)
	all := marathontest.Example(t, "tasks.json")
	srv.Reply("GET", "/v2/tasks", 200, all)
	srv.Reply("GET", "/v2/apps/minecraft/survival-world/tasks", 200, marathontest.Example(t, "app_tasks.json"))
	srv.Reply("GET", "/v2/apps/nope/tasks", 404, []byte(`{ "message": "App '/nope' does not exist" }`))

	r := run(t, "", "task", "list", services)
	r.expect(t, 0, nil, nil)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		"APP ID STATE HEALTH HOST PORTS STARTED",
		"/frontend-foosball frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b TASK_RUNNING - srv4.example.com 31292 2015-09-17T09:32:42.598Z",
		"/tools/docker/registry tools_docker_registry.002b4d28-46b9-11e5-b731-525400cce7ed TASK_RUNNING - srv2.example.com 31721 2015-08-19T21:26:50.864Z",
	}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", r.stdout)
	}
	for i, w := range want {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != w {
			t.Errorf("line %d = %q, want %q", i, got, w)
		}
	}
	r = run(t, "", "task", "list", services, "--json")
	r.expect(t, 0, nil, nil)
	sameJSON(t, r.stdout, all)

	run(t, "", "task", "list", "/minecraft/survival-world", services).expect(t, 0, []string{"TASK_STAGING", "srv7.hw.ca1.mesosphere.com"}, nil)
	run(t, "", "task", "list", "/nope", services).expect(t, 3, nil, []string{"App '/nope' does not exist"})
	run(t, "", "task", "list", "a", "b", services).expect(t, 2, nil, nil)
}

func TestTaskKill(t *testing.T) {
	srv, services := fake(t)
	srv.Reply("GET", "/v2/tasks", 200, marathontest.Example(t, "tasks.json"))
	const task = "frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b"
	path := "/v2/apps/frontend-foosball/tasks/" + task
	srv.Reply("DELETE", path, 200, marathontest.Example(t, "deployments_result.json"))

	run(t, "", "task", "kill", task, "--scale", services).expect(t, 0,
		[]string{"Killed task " + task + " of app /frontend-foosball, scaling it down by one: deployment 5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}, nil)
	if req, _ := srv.Last("DELETE", path); req.Query.Get("scale") != "true" {
		t.Errorf("query = %v", req.Query)
	}
	run(t, "", "task", "kill", "no-such-task", services).expect(t, 3, nil, []string{"task no-such-task does not exist"})
	run(t, "", "task", "kill", task, "--scale", "--wipe", services).expect(t, 2, nil, []string{"exclude each other"})
}

// sandboxFake is a master and an agent that serve one task's sandbox, as Marina's do.
type sandboxFake struct {
	master, standby, agent *httptest.Server
	mu                     sync.Mutex
	files                  map[string]string // /files path -> content
	reads                  []string          // "path@offset"
}

const (
	logTask  = "web.7f3a"
	logFw    = "fw-0001"
	logAgent = "agent-1"
)

func newSandboxFake(t *testing.T, agentKnowsDirectory bool) *sandboxFake {
	f := &sandboxFake{files: map[string]string{}}
	dir := "/var/lib/marina/agent/sandboxes/" + logFw + "/" + logTask
	if !agentKnowsDirectory {
		dir = logFw + "/" + logTask // the relative path the CLI falls back to
	}
	f.files[dir+"/stdout"] = "hello from the task\n"
	f.files[dir+"/stderr"] = "a warning\n"

	f.agent = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/state":
			state := map[string]any{"frameworks": []any{}}
			if agentKnowsDirectory {
				state["frameworks"] = []any{map[string]any{"id": logFw, "executors": []any{
					map[string]any{"id": "other", "directory": "/elsewhere"},
					map[string]any{"id": logTask, "directory": dir, "tasks": []any{map[string]any{"id": logTask}}},
				}}}
			}
			writeJSONTest(w, state)
		case "/files/read":
			q := r.URL.Query()
			off, _ := strconv.ParseInt(q.Get("offset"), 10, 64)
			f.mu.Lock()
			f.reads = append(f.reads, fmt.Sprintf("%s@%d", q.Get("path"), off))
			content, ok := f.files[q.Get("path")]
			f.mu.Unlock()
			if !ok {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			length := int64(5) // small pages: the CLI must page
			if off >= int64(len(content)) {
				writeJSONTest(w, map[string]any{"data": "", "offset": off})
				return
			}
			end := min(off+length, int64(len(content)))
			writeJSONTest(w, map[string]any{"data": content[off:end], "offset": off})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.agent.Close)
	agentHostPort := strings.TrimPrefix(f.agent.URL, "http://")

	var masterPID string
	f.master = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/master/state" {
			http.NotFound(w, r)
			return
		}
		writeJSONTest(w, map[string]any{
			"pid": masterPID, "leader": masterPID,
			"slaves": []any{map[string]any{"id": logAgent, "pid": "slave(1)@" + agentHostPort, "hostname": "127.0.0.1", "port": 1}},
			"frameworks": []any{map[string]any{"id": logFw, "tasks": []any{
				map[string]any{"id": logTask, "framework_id": logFw, "executor_id": logTask, "slave_id": logAgent},
			}}},
		})
	}))
	t.Cleanup(f.master.Close)
	masterPID = "master@" + strings.TrimPrefix(f.master.URL, "http://")

	// A standby knows nothing but who leads, as a Mesos standby's /master/state.
	f.standby = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONTest(w, map[string]any{"pid": "master@127.0.0.1:1", "leader": masterPID, "slaves": []any{}, "frameworks": []any{}})
	}))
	t.Cleanup(f.standby.Close)
	return f
}

func (f *sandboxFake) setFile(path, content string) {
	f.mu.Lock()
	f.files[path] = content
	f.mu.Unlock()
}

// sawRead reports whether the agent was asked for path at offset.
func (f *sandboxFake) sawRead(path string, offset int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.reads {
		if r == fmt.Sprintf("%s@%d", path, offset) {
			return true
		}
	}
	return false
}

func writeJSONTest(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// servicesWithTask is a fake services API that lists the log task.
func servicesWithTask(t *testing.T) string {
	srv, services := fake(t)
	srv.Reply("GET", "/v2/tasks", 200, []byte(`{"tasks":[{"id":"`+logTask+`","appId":"/web","host":"127.0.0.1","state":"TASK_RUNNING","slaveId":"`+logAgent+`"}]}`))
	srv.Reply("GET", "/v2/info", 200, []byte(`{"name":"marina","version":"x","buildref":"x","elected":true,"frameworkId":"`+logFw+`","marathon_config":{"features":[]},"zookeeper_config":{},"http_config":{}}`))
	return services
}

func TestTaskLogs(t *testing.T) {
	for _, knows := range []bool{true, false} {
		t.Run(fmt.Sprintf("agent names the directory %v", knows), func(t *testing.T) {
			f := newSandboxFake(t, knows)
			services := servicesWithTask(t)
			// The standby comes first: the CLI follows it to the leader.
			masters := "--master=" + f.standby.URL + "," + f.master.URL
			run(t, "", "task", "logs", logTask, services, masters).expect(t, 0, []string{"hello from the task\n"}, nil)
			r := run(t, "", "task", "logs", logTask, "--stderr", services, masters)
			r.expect(t, 0, nil, nil)
			if r.stdout != "a warning\n" {
				t.Errorf("stderr of the task = %q", r.stdout)
			}
			run(t, "", "task", "logs", "nope", services, masters).expect(t, 3, nil, []string{"task nope does not exist"})
		})
	}
}

func TestTaskLogsWithoutAFile(t *testing.T) {
	f := newSandboxFake(t, true)
	f.mu.Lock()
	clear(f.files)
	f.mu.Unlock()
	run(t, "", "task", "logs", logTask, servicesWithTask(t), "--master="+f.master.URL).
		expect(t, 3, nil, []string{"has no stdout in its sandbox"})
	run(t, "", "task", "logs", logTask, servicesWithTask(t)).expect(t, 2, nil, []string{"--master"})
}

func TestTaskLogsFollow(t *testing.T) {
	f := newSandboxFake(t, true)
	stdout := "/var/lib/marina/agent/sandboxes/" + logFw + "/" + logTask + "/stdout"
	first := "hello from the task\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runAsync(t, ctx, "task", "logs", logTask, "-f", servicesWithTask(t), "--master="+f.master.URL)

	waitUntil(t, func() bool { return f.sawRead(stdout, len(first)) })
	f.setFile(stdout, first+"more output\n")
	waitUntil(t, func() bool { return f.sawRead(stdout, len(first+"more output\n")) })
	cancel() // Ctrl-C
	r := awaitRun(t, ch)
	r.expect(t, 0, nil, nil)
	if r.stdout != first+"more output\n" {
		t.Errorf("followed output = %q", r.stdout)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
