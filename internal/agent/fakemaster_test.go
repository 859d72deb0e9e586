package agent

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// fakeMaster speaks the master side of the agent stream: /master/redirect, and
// /api/v1/agent answering REGISTER with REGISTERED, recording calls, and sending events.
type fakeMaster struct {
	t   *testing.T
	srv *httptest.Server
	wg  sync.WaitGroup

	mu          sync.Mutex
	token       string
	autoAck     bool
	silent      bool   // send no heartbeats
	redirect    string // "//host:port" of the leader when this master is not it
	unavailable bool   // /master/redirect answers 503
	nextID      int
	registers   []mesos.AgentRegister
	updates     []mesos.AgentUpdate
	heartbeats  int
	cur         *fakeStream
	streams     []*fakeStream
}

type fakeStream struct {
	events chan mesos.AgentEvent
	done   chan struct{}
	once   sync.Once
}

func (s *fakeStream) close() { s.once.Do(func() { close(s.done) }) }

func newFakeMaster(t *testing.T) *fakeMaster {
	fm := &fakeMaster{t: t, autoAck: true}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /master/redirect", fm.serveRedirect)
	mux.HandleFunc("POST /api/v1/agent", fm.serveAgent)
	fm.srv = httptest.NewServer(mux)
	t.Cleanup(fm.Close)
	return fm
}

func (fm *fakeMaster) URL() string { return fm.srv.URL }

func (fm *fakeMaster) Close() {
	fm.mu.Lock()
	for _, s := range fm.streams {
		s.close()
	}
	fm.mu.Unlock()
	fm.srv.CloseClientConnections()
	fm.srv.Close()
	fm.wg.Wait()
}

func (fm *fakeMaster) set(f func(fm *fakeMaster)) {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	f(fm)
}

func (fm *fakeMaster) authorized(r *http.Request) bool {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return fm.token == "" || r.Header.Get("Authorization") == "Bearer "+fm.token
}

func (fm *fakeMaster) serveRedirect(w http.ResponseWriter, r *http.Request) {
	fm.mu.Lock()
	unavailable, redirect := fm.unavailable, fm.redirect
	fm.mu.Unlock()
	if unavailable {
		http.Error(w, "no leader", http.StatusServiceUnavailable)
		return
	}
	if redirect == "" {
		redirect = "//" + strings.TrimPrefix(fm.srv.URL, "http://")
	}
	w.Header().Set("Location", redirect)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

func (fm *fakeMaster) serveAgent(w http.ResponseWriter, r *http.Request) {
	if !fm.authorized(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	fm.mu.Lock()
	redirect := fm.redirect
	fm.mu.Unlock()
	if redirect != "" {
		w.Header().Set("Location", redirect+"/api/v1/agent")
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.EnableFullDuplex(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rr := mesos.NewRecordReader(r.Body)
	var call mesos.AgentCall
	if err := rr.ReadJSON(&call); err != nil || call.Type != mesos.AgentCallRegister || call.Register == nil {
		http.Error(w, fmt.Sprintf("want REGISTER first: %v", err), http.StatusBadRequest)
		return
	}
	s := &fakeStream{events: make(chan mesos.AgentEvent, 100), done: make(chan struct{})}
	fm.mu.Lock()
	id := ""
	if call.Register.Info.ID != nil {
		id = call.Register.Info.ID.Value
	} else {
		id = fmt.Sprintf("M-S%d", fm.nextID)
		fm.nextID++
	}
	fm.registers = append(fm.registers, *call.Register)
	if fm.cur != nil {
		fm.cur.close()
	}
	fm.cur = s
	fm.streams = append(fm.streams, s)
	silent := fm.silent
	fm.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rw := mesos.NewRecordWriter(w)
	write := func(ev mesos.AgentEvent) bool {
		if rw.WriteJSON(ev) != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(mesos.AgentEvent{Type: mesos.AgentEventRegistered, Registered: &mesos.AgentRegistered{
		AgentID: mesos.ID{Value: id}, HeartbeatIntervalSeconds: 0.1}}) {
		return
	}
	fm.wg.Add(1)
	go func() {
		defer fm.wg.Done()
		defer s.close()
		for {
			var c mesos.AgentCall
			if err := rr.ReadJSON(&c); err != nil {
				return
			}
			fm.mu.Lock()
			switch c.Type {
			case mesos.AgentCallUpdate:
				fm.updates = append(fm.updates, *c.Update)
				if fm.autoAck && c.Update.Status.UUID != nil {
					s.events <- ackEvent(*c.Update)
				}
			case mesos.AgentCallHeartbeat:
				fm.heartbeats++
			}
			fm.mu.Unlock()
		}
	}()
	hb := time.NewTicker(100 * time.Millisecond)
	defer hb.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-r.Context().Done():
			return
		case ev := <-s.events:
			if !write(ev) {
				return
			}
		case <-hb.C:
			if !silent && !write(mesos.AgentEvent{Type: mesos.AgentEventHeartbeat}) {
				return
			}
		}
	}
}

func ackEvent(u mesos.AgentUpdate) mesos.AgentEvent {
	return mesos.AgentEvent{Type: mesos.AgentEventAcknowledged, Acknowledged: &mesos.AgentAcknowledged{
		FrameworkID: u.FrameworkID, TaskID: u.Status.TaskID, UUID: u.Status.UUID}}
}

// send queues an event on the current stream.
func (fm *fakeMaster) send(ev mesos.AgentEvent) {
	fm.t.Helper()
	fm.mu.Lock()
	s := fm.cur
	fm.mu.Unlock()
	if s == nil {
		fm.t.Fatal("fake master: no stream")
	}
	s.events <- ev
}

// dropStream ends the current stream.
func (fm *fakeMaster) dropStream() {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if fm.cur != nil {
		fm.cur.close()
		fm.cur = nil
	}
}

func (fm *fakeMaster) launch(fw string, tasks ...mesos.TaskInfo) {
	fm.t.Helper()
	fm.send(mesos.AgentEvent{Type: mesos.AgentEventLaunch, Launch: &mesos.AgentLaunch{
		Framework: mesos.FrameworkInfo{ID: mesos.NewID(fw), Name: "fw-" + fw, User: "root"},
		Tasks:     tasks,
	}})
}

func (fm *fakeMaster) kill(fw, task string, grace time.Duration) {
	fm.t.Helper()
	k := &mesos.AgentKill{FrameworkID: mesos.ID{Value: fw}, TaskID: mesos.ID{Value: task}}
	if grace > 0 {
		k.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace)}}
	}
	fm.send(mesos.AgentEvent{Type: mesos.AgentEventKill, Kill: k})
}

func (fm *fakeMaster) ack(u mesos.AgentUpdate) { fm.send(ackEvent(u)) }

func (fm *fakeMaster) registerCount() int {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return len(fm.registers)
}

func (fm *fakeMaster) lastRegister() mesos.AgentRegister {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return fm.registers[len(fm.registers)-1]
}

// updatesOf returns the updates received for a task, in order (resends included).
func (fm *fakeMaster) updatesOf(task string) []mesos.AgentUpdate {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	var out []mesos.AgentUpdate
	for _, u := range fm.updates {
		if u.Status.TaskID.Value == task {
			out = append(out, u)
		}
	}
	return out
}

// states returns the distinct states reported for a task, in order of first report.
func (fm *fakeMaster) states(task string) []mesos.TaskState {
	var out []mesos.TaskState
	seen := map[string]bool{}
	for _, u := range fm.updatesOf(task) {
		k := string(u.Status.UUID)
		if !seen[k] {
			seen[k] = true
			out = append(out, u.Status.State)
		}
	}
	return out
}

// waitUpdate waits for an update of task in state and returns it.
func (fm *fakeMaster) waitUpdate(task string, state mesos.TaskState, timeout time.Duration) mesos.AgentUpdate {
	fm.t.Helper()
	var got mesos.AgentUpdate
	testutil.WaitFor(fm.t, timeout, func() error {
		for _, u := range fm.updatesOf(task) {
			if u.Status.State == state {
				got = u
				return nil
			}
		}
		return fmt.Errorf("no %s update for %s; got %v", state, task, fm.states(task))
	})
	return got
}

// countUUID counts how often one update was sent.
func (fm *fakeMaster) countUUID(uuid []byte) int {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	n := 0
	for _, u := range fm.updates {
		if bytes.Equal(u.Status.UUID, uuid) {
			n++
		}
	}
	return n
}
