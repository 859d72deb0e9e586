package sandbox

import (
	"encoding/json"
	"testing"
)

// A master's and an agent's state, trimmed to what is decoded, in Mesos' shapes.
const (
	masterJSON = `{"pid":"master@127.0.0.1:5050","leader":"master@127.0.0.1:5050",
	 "slaves":[{"id":"a1","pid":"slave(1)@127.0.0.1:5051","hostname":"127.0.0.1","port":5051}],
	 "frameworks":[{"id":"fw","tasks":[{"id":"web.1","executor_id":"","slave_id":"a1"}],
	   "unreachable_tasks":[{"id":"web.2","framework_id":"fw","executor_id":"ex2","slave_id":"a2"}]}],
	 "completed_frameworks":[{"id":"old","completed_tasks":[{"id":"job.1","slave_id":"a1"}]}]}`
	agentJSON = `{"frameworks":[{"id":"fw","executors":[
	   {"id":"web.1","directory":"/var/lib/marina/sandboxes/fw/web.1","tasks":[{"id":"web.1"}]},
	   {"id":"group","directory":"/var/lib/marina/sandboxes/fw/group","queued_tasks":[{"id":"pod.1"}]}]}],
	 "completed_frameworks":[{"id":"old","completed_executors":[
	   {"id":"job.1","directory":"/var/lib/marina/sandboxes/old/job.1"}]}]}`
)

func TestLocate(t *testing.T) {
	var st MasterState
	if err := json.Unmarshal([]byte(masterJSON), &st); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		task string
		want Place
		ok   bool
		dir  string
	}{
		{"web.1", Place{Framework: "fw", Executor: "web.1", Agent: "a1"}, true, "fw/web.1"},
		{"web.2", Place{Framework: "fw", Executor: "ex2", Agent: "a2"}, true, "fw/ex2"},
		{"job.1", Place{Framework: "old", Executor: "job.1", Agent: "a1"}, true, "old/job.1"},
		{"nope", Place{}, false, ""},
	} {
		got, ok := st.Locate(tc.task)
		if got != tc.want || ok != tc.ok || ok && got.Dir() != tc.dir {
			t.Errorf("Locate(%q) = %+v, %v (dir %q), want %+v, %v (dir %q)", tc.task, got, ok, got.Dir(), tc.want, tc.ok, tc.dir)
		}
	}
}

func TestDirectory(t *testing.T) {
	var as AgentState
	if err := json.Unmarshal([]byte(agentJSON), &as); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fw, executor, task string
		want               string
	}{
		{"fw", "web.1", "web.1", "/var/lib/marina/sandboxes/fw/web.1"},
		{"", "web.1", "web.1", "/var/lib/marina/sandboxes/fw/web.1"},
		{"fw", "pod.1", "pod.1", "/var/lib/marina/sandboxes/fw/group"}, // by the task it queues
		{"old", "job.1", "job.1", "/var/lib/marina/sandboxes/old/job.1"},
		{"other", "web.1", "web.1", ""},
		{"fw", "nope", "nope", ""},
	} {
		if got := as.Directory(tc.fw, tc.executor, tc.task); got != tc.want {
			t.Errorf("Directory(%q, %q, %q) = %q, want %q", tc.fw, tc.executor, tc.task, got, tc.want)
		}
	}
}
