package master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// rawAgent is one agent stream driven by hand.
type rawAgent struct {
	w      *mesos.RecordWriter
	pw     *io.PipeWriter
	events chan mesos.AgentEvent
	id     string
}

// dialAgent opens an agent stream and registers (re-registers when id is set).
func dialAgent(t *testing.T, m *Master, id string, tasks ...mesos.AgentTask) *rawAgent {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL()+"/api/v1/agent", pr)
	req.Header.Set("Content-Type", "application/json")
	ra := &rawAgent{w: mesos.NewRecordWriter(pw), pw: pw, events: make(chan mesos.AgentEvent, 100)}
	res, _ := mesos.ParseResources("cpus:2;mem:1024")
	info := mesos.AgentInfo{Hostname: "127.0.0.1", Port: 5051, Resources: res}
	if id != "" {
		info.ID = &mesos.ID{Value: id}
	}
	go func() {
		_ = ra.w.WriteJSON(mesos.AgentCall{Type: mesos.AgentCallRegister, Register: &mesos.AgentRegister{Info: info, Tasks: tasks}})
	}()
	tr := &http.Transport{}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); pw.Close(); resp.Body.Close(); tr.CloseIdleConnections() })
	go func() {
		defer close(ra.events)
		rr := mesos.NewRecordReader(resp.Body)
		for {
			var ev mesos.AgentEvent
			if err := rr.ReadJSON(&ev); err != nil {
				return
			}
			ra.events <- ev
		}
	}()
	ev := ra.next(t)
	if ev.Type != mesos.AgentEventRegistered {
		t.Fatalf("first event %+v", ev)
	}
	ra.id = ev.Registered.AgentID.Value
	return ra
}

func (ra *rawAgent) next(t *testing.T) mesos.AgentEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-ra.events:
			if !ok {
				t.Fatal("agent stream closed")
			}
			if ev.Type != mesos.AgentEventHeartbeat {
				return ev
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no agent event within 10s")
		}
	}
}

// closed waits until the master closes the stream.
func (ra *rawAgent) closed(within time.Duration) error {
	timeout := time.After(within)
	for {
		select {
		case _, ok := <-ra.events:
			if !ok {
				return nil
			}
		case <-timeout:
			return errors.New("stream still open")
		}
	}
}

func TestAgentConnectionReplaced(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	a1 := dialAgent(t, m, "")
	a2 := dialAgent(t, m, a1.id)
	if a2.id != a1.id {
		t.Fatalf("re-registered as %s, want %s", a2.id, a1.id)
	}
	if err := a1.closed(5 * time.Second); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	n, err := activeAgents(m)
	if err != nil || n != 1 {
		t.Fatalf("%d active agents (%v)", n, err)
	}
	// Heartbeats flow on the new stream: the master stays quiet about its liveness.
	for range 3 {
		if err := a2.w.WriteJSON(mesos.AgentCall{Type: mesos.AgentCallHeartbeat}); err != nil {
			t.Fatal(err)
		}
	}
	checkAccounting(t, m)
}

func TestSilentAgentUnreachable(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", func(c *Config) { c.AgentTimeout = 500 * time.Millisecond })
	waitLeader(t, m)
	a := dialAgent(t, m, "") // registers, then never says a word
	if err := a.closed(5 * time.Second); err != nil {
		t.Fatalf("silent agent: %v", err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		var st stateDoc
		getJSON(t, m, "/master/state", &st)
		if *st.UnreachableSlaves != 1 {
			return fmt.Errorf("unreachable_slaves %d", *st.UnreachableSlaves)
		}
		return nil
	})
	// It may come back with its id.
	b := dialAgent(t, m, a.id)
	if b.id != a.id {
		t.Fatalf("came back as %s", b.id)
	}
}
