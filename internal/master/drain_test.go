package master

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/testutil"
)

// offerWatch follows a framework's outstanding offers.
type offerWatch struct {
	t   *testing.T
	s   *scheduler.Stream
	out map[string]mesos.Offer // by offer ID
	// status is the latest status of each task.
	status map[string]mesos.TaskStatus
}

func newOfferWatch(t *testing.T, s *scheduler.Stream) *offerWatch {
	return &offerWatch{t: t, s: s, out: map[string]mesos.Offer{}, status: map[string]mesos.TaskStatus{}}
}

// pump handles the next event within d: it records offers and rescinds and acknowledges
// updates. It returns the agents offered by the event (nil for other events) and false when no
// event came.
func (w *offerWatch) pump(d time.Duration) (map[string]bool, bool) {
	ev, ok := nextWithin(w.s, d, func(mesos.Event) bool { return true })
	if !ok {
		return nil, false
	}
	switch ev.Type {
	case mesos.EventOffers:
		agents := map[string]bool{}
		for _, o := range ev.Offers.Offers {
			w.out[o.ID.Value] = o
			agents[o.AgentID.Value] = true
		}
		return agents, true
	case mesos.EventRescind:
		delete(w.out, ev.Rescind.OfferID.Value)
	case mesos.EventUpdate:
		w.status[ev.Update.Status.TaskID.Value] = ev.Update.Status
		if err := w.s.Acknowledge(context.Background(), ev.Update.Status); err != nil {
			w.t.Errorf("acknowledge: %v", err)
		}
	}
	return nil, true
}

// until handles events until cond holds, within 10s.
func (w *offerWatch) until(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("not within 10s: %s", what)
		}
		w.pump(time.Second)
	}
}

// nextOffers returns the agents of the next OFFERS event.
func (w *offerWatch) nextOffers() map[string]bool {
	w.t.Helper()
	var got map[string]bool
	w.until("an OFFERS event", func() bool {
		got, _ = w.pump(time.Second)
		return got != nil
	})
	return got
}

// agents returns the agents of the outstanding offers, sorted.
func (w *offerWatch) agents() []string {
	set := map[string]bool{}
	for _, o := range w.out {
		set[o.AgentID.Value] = true
	}
	var out []string
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (w *offerWatch) offersOn(agentID string) bool {
	for _, o := range w.out {
		if o.AgentID.Value == agentID {
			return true
		}
	}
	return false
}

// declineAll declines every outstanding offer without a filter, so that what is free is
// offered again at once.
func (w *offerWatch) declineAll() {
	w.t.Helper()
	var ids []mesos.ID
	for _, o := range w.out {
		ids = append(ids, o.ID)
	}
	if len(ids) == 0 {
		return
	}
	if err := w.s.Decline(context.Background(), ids, &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		w.t.Fatal(err)
	}
	clear(w.out)
}

// opAgent returns the GET_AGENTS entry of an agent, nil when it is not listed.
func opAgentEntry(t *testing.T, m *Master, id string) map[string]any {
	t.Helper()
	code, doc, raw := opCall(t, m.URL(), "", `{"type":"GET_AGENTS"}`)
	if code != http.StatusOK {
		t.Fatalf("GET_AGENTS: %d %s", code, raw)
	}
	agents, _ := dig(doc, "get_agents", "agents").([]any)
	for _, a := range agents {
		if dig(a, "agent_info", "id", "value") == id {
			return a.(map[string]any)
		}
	}
	return nil
}

// stateSlave returns the /master/state entry of an agent.
func stateSlave(t *testing.T, m *Master, id string) map[string]any {
	t.Helper()
	var doc map[string]any
	if code := getJSON(t, m, "/master/state", &doc); code != http.StatusOK {
		t.Fatalf("/master/state: %d", code)
	}
	slaves, _ := doc["slaves"].([]any)
	for _, s := range slaves {
		if dig(s, "id") == id {
			return s.(map[string]any)
		}
	}
	return nil
}

func agentCall(typ, field, id string) string {
	return fmt.Sprintf(`{"type":%q,%q:{"agent_id":{"value":%q}}}`, typ, field, id)
}

func mustOp(t *testing.T, m *Master, body string) {
	t.Helper()
	if code, _, raw := opCall(t, m.URL(), "", body); code != http.StatusOK {
		t.Fatalf("%s: %d %s", body, code, raw)
	}
}

func TestAgentDeactivateReactivate(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 2, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "f"}, "", m)
	w := newOfferWatch(t, s)
	w.until("offers of both agents", func() bool { return len(w.agents()) == 2 })
	ids := w.agents()
	off, on := ids[0], ids[1]

	mustOp(t, m, agentCall("DEACTIVATE_AGENT", "deactivate_agent", off))
	w.until("the deactivated agent's offer rescinded", func() bool { return !w.offersOn(off) })
	for range 2 {
		w.declineAll()
		got := w.nextOffers()
		if got[off] || !got[on] {
			t.Fatalf("offered agents %v after deactivating %s", got, off)
		}
	}
	a := opAgentEntry(t, m, off)
	if err := all(want(dig(a, "deactivated"), true), want(dig(a, "active"), false)); err != nil {
		t.Errorf("GET_AGENTS of the deactivated agent: %v in %v", err, a)
	}
	if err := want(dig(opAgentEntry(t, m, on), "deactivated"), false); err != nil {
		t.Errorf("GET_AGENTS of the other agent: %v", err)
	}
	if err := want(dig(stateSlave(t, m, off), "active"), false); err != nil {
		t.Errorf("/master/state: %v", err)
	}

	mustOp(t, m, agentCall("REACTIVATE_AGENT", "reactivate_agent", off))
	w.until("the reactivated agent offered", func() bool { return w.offersOn(off) })
	a = opAgentEntry(t, m, off)
	if err := all(want(dig(a, "deactivated"), false), want(dig(a, "active"), true), want(dig(a, "drain_info"), nil)); err != nil {
		t.Errorf("GET_AGENTS after REACTIVATE_AGENT: %v in %v", err, a)
	}
}

// TestAgentDrain: a drained agent's task is killed with REASON_AGENT_DRAINING, the agent is
// DRAINED and offered no more, and a new leader still knows it drained.
func TestAgentDrain(t *testing.T) {
	e := startEtcd(t, 1)
	m1 := startMaster(t, e[0], "m1", nil)
	waitLeader(t, m1)
	m2 := startMaster(t, e[0], "m2", nil)
	startSim(t, 2, "", nil, m1, m2)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "f"}, "", m1, m2)
	w := newOfferWatch(t, s)
	w.until("offers of both agents", func() bool { return len(w.agents()) == 2 })
	drained := w.agents()[0]
	var o mesos.Offer
	for id, of := range w.out {
		if of.AgentID.Value == drained {
			o = of
			delete(w.out, id)
		}
	}
	ti := newTaskInfo("web.1", o, "cpus:1;mem:128")
	ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(time.Minute)}}
	if err := s.Accept(context.Background(), []mesos.ID{o.ID}, launch(ti), &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		t.Fatal(err)
	}
	w.until("web.1 running", func() bool { return w.status["web.1"].State == mesos.TaskRunning })

	mustOp(t, m1, fmt.Sprintf(`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":%q},"max_grace_period":{"nanoseconds":1000000000}}}`, drained))
	w.until("web.1 killed", func() bool { return w.status["web.1"].State == mesos.TaskKilled })
	if r := w.status["web.1"].Reason; r != reasonAgentDraining {
		t.Errorf("TASK_KILLED reason %q", r)
	}
	drainedState := func(m *Master) error {
		a := opAgentEntry(t, m, drained)
		return all(
			want(dig(a, "drain_info", "state"), "DRAINED"),
			want(dig(a, "drain_info", "config", "max_grace_period", "nanoseconds"), 1e9),
			want(dig(a, "deactivated"), true),
			want(dig(a, "active"), false),
		)
	}
	testutil.WaitFor(t, 10*time.Second, func() error { return drainedState(m1) })
	if err := all(want(dig(stateSlave(t, m1, drained), "active"), false),
		want(dig(stateSlave(t, m1, drained), "drain_info", "state"), "DRAINED")); err != nil {
		t.Errorf("/master/state: %v", err)
	}

	for range 2 {
		w.declineAll()
		if got := w.nextOffers(); got[drained] {
			t.Fatalf("drained agent offered: %v", got)
		}
	}

	testutil.WaitFor(t, 5*time.Second, func() error {
		m1.mu.Lock()
		p := m1.st.persist
		m1.mu.Unlock()
		if n := p.pendingWrites(); n > 0 {
			return fmt.Errorf("%d registry writes pending", n)
		}
		return nil
	})
	m1.Close()
	waitLeader(t, m2)
	testutil.WaitFor(t, 15*time.Second, func() error {
		if n, err := activeAgents(m2); err != nil || n != 1 {
			return fmt.Errorf("%d active agents on the new leader (%v)", n, err)
		}
		m2.mu.Lock()
		a := m2.st.agents[drained]
		connected := a != nil && a.conn != nil
		m2.mu.Unlock()
		if !connected {
			return fmt.Errorf("drained agent not re-registered")
		}
		return drainedState(m2)
	})
}

func TestAgentMaintenanceBadInput(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	m.mu.Lock()
	var id string
	for id = range m.st.agents {
	}
	m.mu.Unlock()
	tests := []struct {
		name, body string
		code       int
	}{
		{"unknown agent", agentCall("DEACTIVATE_AGENT", "deactivate_agent", "nope"), http.StatusNotFound},
		{"unknown agent drained", agentCall("DRAIN_AGENT", "drain_agent", "nope"), http.StatusNotFound},
		{"no agent id", `{"type":"REACTIVATE_AGENT"}`, http.StatusBadRequest},
		{"empty agent id", agentCall("DRAIN_AGENT", "drain_agent", ""), http.StatusBadRequest},
		{"mark gone", fmt.Sprintf(`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":%q},"mark_gone":true}}`, id), http.StatusBadRequest},
		{"negative grace", fmt.Sprintf(`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":%q},"max_grace_period":{"nanoseconds":-1}}}`, id), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, raw := opCall(t, m.URL(), "", tc.body); code != tc.code {
				t.Errorf("%d %s, want %d", code, raw, tc.code)
			}
		})
	}
	if a := opAgentEntry(t, m, id); dig(a, "deactivated") != false || dig(a, "drain_info") != nil {
		t.Errorf("refused calls changed the agent: %v", a)
	}
}

func TestCappedKillPolicy(t *testing.T) {
	grace := func(d time.Duration) *mesos.KillPolicy {
		return &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(d)}}
	}
	limit := func(d time.Duration) *mesos.DurationInfo { return &mesos.DurationInfo{Nanoseconds: int64(d)} }
	tests := []struct {
		name   string
		policy *mesos.KillPolicy
		limit  *mesos.DurationInfo
		want   *mesos.KillPolicy
	}{
		{"no limit", grace(time.Minute), nil, grace(time.Minute)},
		{"under the limit", grace(time.Second), limit(10 * time.Second), grace(time.Second)},
		{"over the limit", grace(time.Minute), limit(10 * time.Second), grace(10 * time.Second)},
		{"default under the limit", nil, limit(10 * time.Second), nil},
		{"default over the limit", nil, limit(time.Second), grace(time.Second)},
		{"zero limit", grace(time.Minute), limit(0), grace(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cappedKillPolicy(tc.policy, tc.limit)
			if fmt.Sprint(graceOf(got)) != fmt.Sprint(graceOf(tc.want)) {
				t.Errorf("got %v, want %v", graceOf(got), graceOf(tc.want))
			}
		})
	}
}

func graceOf(p *mesos.KillPolicy) any {
	if p == nil || p.GracePeriod == nil {
		return nil
	}
	return p.GracePeriod.Nanoseconds
}
