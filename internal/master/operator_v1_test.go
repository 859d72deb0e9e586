package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agentsim"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// dig walks a decoded JSON document by object keys and array indexes; nil when a step is
// missing.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			obj, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = obj[k]
		case int:
			arr, ok := v.([]any)
			if !ok || k >= len(arr) {
				return nil
			}
			v = arr[k]
		}
	}
	return v
}

// opCall posts an operator call to base+"/api/v1" and returns the status, decoded body (when
// JSON) and raw body.
func opCall(t *testing.T, base, token string, body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return resp.StatusCode, doc, string(raw)
}

// runningTask starts one agent and a framework "marathon" whose task web.1 runs; it returns
// the framework's stream.
func runningTask(t *testing.T, m *Master) string {
	t.Helper()
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "marathon", Role: "web"}, "", m)
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	ti := newTaskInfo("web.1", o, "cpus:0.5;mem:128")
	if err := s.Accept(context.Background(), []mesos.ID{o.ID}, launch(ti), &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "web.1", mesos.TaskRunning))
	return s.FrameworkID()
}

func TestOperatorV1Calls(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	fwID := runningTask(t, m)

	tests := []struct {
		call  string
		check func(doc map[string]any) error
	}{
		{"GET_HEALTH", func(d map[string]any) error {
			return want(dig(d, "get_health", "healthy"), true)
		}},
		{"GET_VERSION", func(d map[string]any) error {
			return want(dig(d, "get_version", "version_info", "version"), "1.11.0")
		}},
		{"GET_FLAGS", func(d map[string]any) error {
			for _, f := range dig(d, "get_flags", "flags").([]any) {
				if dig(f, "name") == "hostname" {
					return want(dig(f, "value"), "127.0.0.1")
				}
			}
			return fmt.Errorf("no hostname flag")
		}},
		{"GET_METRICS", func(d map[string]any) error {
			for _, mt := range dig(d, "get_metrics", "metrics").([]any) {
				if dig(mt, "name") == "master/tasks_running" {
					return want(dig(mt, "value"), 1.0)
				}
			}
			return fmt.Errorf("no master/tasks_running")
		}},
		{"GET_MASTER", func(d map[string]any) error {
			return all(
				want(dig(d, "get_master", "master_info", "hostname"), "127.0.0.1"),
				positive(dig(d, "get_master", "start_time")),
				positive(dig(d, "get_master", "elected_time")),
			)
		}},
		{"GET_STATE", func(d map[string]any) error {
			st := dig(d, "get_state")
			return all(
				want(dig(st, "get_tasks", "tasks", 0, "state"), "TASK_RUNNING"),
				want(dig(st, "get_tasks", "tasks", 0, "task_id", "value"), "web.1"),
				want(dig(st, "get_tasks", "tasks", 0, "framework_id", "value"), fwID),
				want(dig(st, "get_agents", "agents", 0, "agent_info", "hostname"), "127.0.0.1"),
				want(dig(st, "get_frameworks", "frameworks", 0, "framework_info", "name"), "marathon"),
				want(fmt.Sprint(dig(st, "get_executors", "executors")), "[]"),
			)
		}},
		{"GET_AGENTS", func(d map[string]any) error {
			a := dig(d, "get_agents", "agents", 0)
			return all(
				want(dig(a, "active"), true),
				positive(dig(a, "agent_info", "port")),
				want(dig(a, "total_resources", 0, "name"), "cpus"),
				want(dig(a, "total_resources", 0, "scalar", "value"), 4.0),
				want(dig(a, "allocated_resources", 0, "scalar", "value"), 0.5),
				want(dig(a, "allocated_resources", 0, "allocation_info", "role"), "web"),
				positive(dig(a, "registered_time", "nanoseconds")),
			)
		}},
		{"GET_FRAMEWORKS", func(d map[string]any) error {
			f := dig(d, "get_frameworks", "frameworks", 0)
			return all(
				want(dig(f, "framework_info", "id", "value"), fwID),
				want(dig(f, "framework_info", "name"), "marathon"),
				want(dig(f, "active"), true),
				want(dig(f, "connected"), true),
				want(dig(f, "recovered"), false),
				positive(dig(f, "registered_time", "nanoseconds")),
				want(dig(f, "allocated_resources", 0, "scalar", "value"), 0.5),
				want(fmt.Sprint(dig(d, "get_frameworks", "completed_frameworks")), "[]"),
			)
		}},
		{"GET_TASKS", func(d map[string]any) error {
			tk := dig(d, "get_tasks", "tasks", 0)
			return all(
				want(dig(tk, "state"), "TASK_RUNNING"),
				want(dig(tk, "name"), "web.1"),
				want(dig(tk, "statuses", 0, "state"), "TASK_RUNNING"),
				want(dig(tk, "resources", 0, "name"), "cpus"),
				want(fmt.Sprint(dig(d, "get_tasks", "completed_tasks")), "[]"),
				want(fmt.Sprint(dig(d, "get_tasks", "unreachable_tasks")), "[]"),
			)
		}},
		{"GET_ROLES", func(d map[string]any) error {
			r := dig(d, "get_roles", "roles", 0)
			return all(
				want(dig(r, "name"), "web"),
				want(dig(r, "weight"), 1.0),
				want(dig(r, "frameworks", 0, "value"), fwID),
				want(dig(r, "allocated", 0, "scalar", "value"), 0.5),
			)
		}},
		{"GET_EXECUTORS", func(d map[string]any) error {
			return want(fmt.Sprint(dig(d, "get_executors", "executors")), "[]")
		}},
		{"GET_WEIGHTS", func(d map[string]any) error {
			return want(fmt.Sprint(dig(d, "get_weights", "weight_infos")), "[]")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			code, doc, raw := opCall(t, m.URL(), "", `{"type":"`+tc.call+`"}`)
			if code != http.StatusOK || doc == nil {
				t.Fatalf("%d %s", code, raw)
			}
			if err := all(want(doc["type"], tc.call), tc.check(doc)); err != nil {
				t.Errorf("%v in %s", err, raw)
			}
		})
	}
}

func want(got, exp any) error {
	if got != exp {
		return fmt.Errorf("got %v (%T), want %v", got, got, exp)
	}
	return nil
}

func positive(v any) error {
	if f, ok := v.(float64); !ok || f <= 0 {
		return fmt.Errorf("got %v, want a positive number", v)
	}
	return nil
}

func all(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// opStream is an operator SUBSCRIBE stream read in the background.
type opStream struct {
	events chan map[string]any
	resp   *http.Response
}

func opSubscribe(t *testing.T, m *Master) *opStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("subscribe: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &opStream{events: make(chan map[string]any, 1024), resp: resp}
	go func() {
		defer close(s.events)
		rr := mesos.NewRecordReader(resp.Body)
		for {
			var ev map[string]any
			if err := rr.ReadJSON(&ev); err != nil {
				return
			}
			s.events <- ev
		}
	}()
	return s
}

// next returns the next event of type typ for which pred (if any) holds, skipping others.
func (s *opStream) next(t *testing.T, typ string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended waiting for %s", typ)
			}
			if ev["type"] == typ && (pred == nil || pred(ev)) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within 10s", typ)
		}
	}
}

func TestOperatorV1Subscribe(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)

	s := opSubscribe(t, m)
	first := s.next(t, "SUBSCRIBED", nil)
	if err := all(
		want(dig(first, "subscribed", "heartbeat_interval_seconds"), 15.0),
		want(dig(first, "subscribed", "get_state", "get_agents", "agents", 0, "agent_info", "hostname"), "127.0.0.1"),
		want(fmt.Sprint(dig(first, "subscribed", "get_state", "get_tasks", "tasks")), "[]"),
	); err != nil {
		t.Fatalf("SUBSCRIBED: %v: %v", err, first)
	}
	// A subscriber that never reads must not hold anything up.
	abandoned, err := http.Post(m.URL()+"/api/v1", "application/json", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { abandoned.Body.Close() })

	fwID := runningTask(t, m)
	s.next(t, "FRAMEWORK_ADDED", func(ev map[string]any) bool {
		return dig(ev, "framework_added", "framework", "framework_info", "name") == "marathon"
	})
	added := s.next(t, "TASK_ADDED", nil)
	if err := all(
		want(dig(added, "task_added", "task", "task_id", "value"), "web.1"),
		want(dig(added, "task_added", "task", "framework_id", "value"), fwID),
		want(dig(added, "task_added", "task", "state"), "TASK_STAGING"),
	); err != nil {
		t.Errorf("TASK_ADDED: %v: %v", err, added)
	}
	upd := s.next(t, "TASK_UPDATED", func(ev map[string]any) bool {
		return dig(ev, "task_updated", "state") == "TASK_RUNNING"
	})
	if err := all(
		want(dig(upd, "task_updated", "framework_id", "value"), fwID),
		want(dig(upd, "task_updated", "status", "task_id", "value"), "web.1"),
		want(dig(upd, "task_updated", "status", "state"), "TASK_RUNNING"),
	); err != nil {
		t.Errorf("TASK_UPDATED: %v: %v", err, upd)
	}

	startSim(t, 1, "", func(c *agentsim.Config) {
		c.HostnameFunc = func(int) string { return "node-2.test" }
	}, m)
	s.next(t, "AGENT_ADDED", func(ev map[string]any) bool {
		return dig(ev, "agent_added", "agent", "agent_info", "hostname") == "node-2.test"
	})

	// Closing the master ends the stream.
	m.Close()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("stream still open after the master closed")
		}
	}
}

func TestOperatorV1FrameworkRemoved(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	_, fs := subscribe(t, mesos.FrameworkInfo{Name: "batch"}, "", m)
	s := opSubscribe(t, m)
	s.next(t, "SUBSCRIBED", nil)
	if err := fs.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := s.next(t, "FRAMEWORK_REMOVED", nil)
	if err := all(
		want(dig(ev, "framework_removed", "framework_info", "name"), "batch"),
		want(dig(ev, "framework_removed", "framework_info", "id", "value"), fs.FrameworkID()),
	); err != nil {
		t.Errorf("FRAMEWORK_REMOVED: %v: %v", err, ev)
	}
}

// TestOpHubSlowSubscriber: publishing never blocks; a subscriber whose queue is full is cut
// off while the others keep receiving.
func TestOpHubSlowSubscriber(t *testing.T) {
	var h opHub
	slow := h.add(2, []byte(`{"type":"SUBSCRIBED"}`))
	fast := h.add(100, []byte(`{"type":"SUBSCRIBED"}`))
	for i := 0; i < 10; i++ {
		h.publish(opEvent{Type: opEventAgentRemoved, AgentRemoved: &opAgentRemoved{AgentID: mesos.ID{Value: fmt.Sprint(i)}}})
	}
	select {
	case <-slow.done:
	default:
		t.Fatal("slow subscriber not cut off")
	}
	if !strings.Contains(slow.reason, "overflow") {
		t.Errorf("reason %q", slow.reason)
	}
	if len(fast.q) != 11 || len(h.subs) != 1 {
		t.Errorf("fast subscriber has %d events; hub has %d subscribers", len(fast.q), len(h.subs))
	}
	h.closeAll("master lost leadership")
	select {
	case <-fast.done:
	default:
		t.Fatal("closeAll left a subscriber open")
	}
}

func TestOperatorV1BadInput(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	tests := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"malformed", `{"type":`, http.StatusBadRequest, "failed to parse"},
		{"unknown type", `{"type":"GET_EVERYTHING"}`, http.StatusBadRequest, "unknown call type"},
		{"no type", `{}`, http.StatusBadRequest, "'type'"},
		{"wrong type", `{"type":7}`, http.StatusBadRequest, "failed to parse"},
		{"trailing data", `{"type":"GET_HEALTH"} {}`, http.StatusBadRequest, "trailing"},
		{"unimplemented", `{"type":"RESERVE_RESOURCES"}`, http.StatusNotImplemented, "not implemented"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, raw := opCall(t, m.URL(), "", tc.body)
			if code != tc.code || !strings.Contains(raw, tc.msg) {
				t.Errorf("%d %q, want %d with %q", code, raw, tc.code, tc.msg)
			}
		})
	}
	t.Run("too big", func(t *testing.T) {
		body := `{"type":"GET_HEALTH","pad":"` + strings.Repeat("x", maxCallBytes) + `"}`
		if code, _, _ := opCall(t, m.URL(), "", body); code != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d", code)
		}
	})
	t.Run("GET", func(t *testing.T) {
		if code := getJSON(t, m, "/api/v1", nil); code != http.StatusMethodNotAllowed {
			t.Errorf("got %d", code)
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		code, _, _ := post(t, m.URL()+"/api/v1", map[string]string{"Content-Type": "application/x-protobuf"}, []byte{8, 9})
		if code != http.StatusUnsupportedMediaType {
			t.Errorf("got %d", code)
		}
	})
}

func TestOperatorV1StandbyAndAuth(t *testing.T) {
	e := startEtcd(t, 1)
	const token = "s3cret"
	auth := func(c *Config) { c.AuthToken = token }
	m1 := startMaster(t, e[0], "m1", auth)
	leader := waitLeader(t, m1)
	m2 := startMaster(t, e[0], "m2", auth)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if m2.Leader() != leader.URL() {
			return fmt.Errorf("standby sees leader %q", m2.Leader())
		}
		return nil
	})
	if code, _, _ := opCall(t, leader.URL(), "", `{"type":"GET_STATE"}`); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
	if code, _, raw := opCall(t, leader.URL(), token, `{"type":"GET_STATE"}`); code != http.StatusOK {
		t.Errorf("with a token: %d %s", code, raw)
	}
	req, _ := http.NewRequest(http.MethodPost, m2.URL()+"/api/v1", bytes.NewReader([]byte(`{"type":"GET_STATE"}`)))
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != leader.URL()+"/api/v1" {
		t.Errorf("standby GET_STATE: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	// Calls about the master process itself are answered by any master.
	if code, doc, raw := opCall(t, m2.URL(), token, `{"type":"GET_VERSION"}`); code != http.StatusOK || dig(doc, "get_version", "version_info", "version") != "1.11.0" {
		t.Errorf("standby GET_VERSION: %d %s", code, raw)
	}
}

// FuzzDecodeOperatorCall: decoding any bytes as an operator call must not panic, and what it
// accepts is a call the master answers.
func FuzzDecodeOperatorCall(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"type":"GET_STATE"}`, `{"type":"SUBSCRIBE"}`,
		`{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}}`,
		`{"type":"RESERVE_RESOURCES"}`, `{"type":"GET_HEALTH"} {}`, `{"type":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeOperatorCall(b)
		if err == nil {
			if c == nil {
				t.Fatal("nil call without error")
			}
			if _, ok := answered[c.Type]; !ok {
				t.Fatalf("accepted call type %q", c.Type)
			}
		}
	})
}

// A task a new leader learns of from an agent that re-registers after the failover is
// TASK_ADDED on its event stream, as in Mesos.
func TestOperatorV1TaskAddedOnReregistration(t *testing.T) {
	e := startEtcd(t, 1)
	m1 := startMaster(t, e[0], "m1", nil)
	waitLeader(t, m1)
	m2 := startMaster(t, e[0], "m2", nil)
	sim := startSim(t, 1, "", nil, m1, m2)
	runningTask(t, m1)
	testutil.WaitFor(t, 5*time.Second, func() error {
		m1.mu.Lock()
		n := m1.st.persist.pendingWrites()
		m1.mu.Unlock()
		if n > 0 {
			return fmt.Errorf("%d registry writes pending", n)
		}
		return nil
	})
	sim.StopAgent(0)
	m1.Close()
	waitLeader(t, m2)

	s := opSubscribe(t, m2)
	first := s.next(t, "SUBSCRIBED", nil)
	if tasks := fmt.Sprint(dig(first, "subscribed", "get_state", "get_tasks", "tasks")); tasks != "[]" {
		t.Fatalf("the new leader knows tasks before the agent re-registered: %s", tasks)
	}
	sim.StartAgent(0)
	added := s.next(t, "TASK_ADDED", nil)
	if err := all(
		want(dig(added, "task_added", "task", "task_id", "value"), "web.1"),
		want(dig(added, "task_added", "task", "state"), "TASK_RUNNING"),
	); err != nil {
		t.Errorf("TASK_ADDED: %v: %v", err, added)
	}
}

// Between events, a subscriber's stream carries a HEARTBEAT every interval; queued events go
// out as RecordIO records too.
func TestOpEventsHeartbeat(t *testing.T) {
	var h opHub
	sub := h.add(10, []byte(`{"type":"SUBSCRIBED"}`))
	rec := httptest.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- writeOpEvents(ctx, rec, sub, 20*time.Millisecond) }()
	time.Sleep(300 * time.Millisecond) // 15 intervals: at least 2 heartbeats even on a busy machine
	cancel()
	<-done
	rr := mesos.NewRecordReader(bytes.NewReader(rec.Body.Bytes()))
	var types []string
	for {
		var ev struct{ Type string }
		if err := rr.ReadJSON(&ev); err != nil {
			break
		}
		types = append(types, ev.Type)
	}
	if len(types) < 3 || types[0] != "SUBSCRIBED" || types[1] != "HEARTBEAT" || types[len(types)-1] != "HEARTBEAT" {
		t.Fatalf("stream of events %v, want SUBSCRIBED then HEARTBEATs", types)
	}
}
