package master

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestStandbyRedirects(t *testing.T) {
	e := startEtcd(t, 1)
	m1 := startMaster(t, e[0], "m1", nil)
	leader := waitLeader(t, m1)
	m2 := startMaster(t, e[0], "m2", nil)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if got := m2.Leader(); got != leader.URL() {
			return fmt.Errorf("standby sees leader %q", got)
		}
		return nil
	})
	if m2.IsLeader() {
		t.Fatal("two leaders")
	}
	host := strings.TrimPrefix(leader.URL(), "http://")

	code, _, hdr := post(t, m2.URL()+"/api/v1/scheduler?x=1", nil, []byte(`{"type":"SUBSCRIBE"}`))
	if code != http.StatusTemporaryRedirect || hdr.Get("Location") != leader.URL()+"/api/v1/scheduler?x=1" {
		t.Errorf("standby scheduler call: %d %q", code, hdr.Get("Location"))
	}
	code, _, hdr = post(t, m2.URL()+"/api/v1/agent", nil, nil)
	if code != http.StatusTemporaryRedirect || hdr.Get("Location") != leader.URL()+"/api/v1/agent" {
		t.Errorf("standby agent stream: %d %q", code, hdr.Get("Location"))
	}
	for _, m := range []*Master{m1, m2} {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(m.URL() + "/master/redirect")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//"+host {
			t.Errorf("%s /master/redirect: %d %q", m.URL(), resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	var st stateDoc
	if code := getJSON(t, m2, "/master/state", &st); code != http.StatusOK {
		t.Fatalf("standby /master/state: %d", code)
	}
	if st.Leader != "master@"+host || st.PID == st.Leader || st.Slaves == nil || st.Frameworks == nil || st.OrphanTasks == nil {
		t.Errorf("standby state: %+v", st)
	}
	checkPID(t, "standby", st.PID)
	var snap map[string]float64
	getJSON(t, m2, "/metrics/snapshot", &snap)
	if v, ok := snap["master/elected"]; !ok || v != 0 {
		t.Errorf("standby master/elected = %v, %v", v, ok)
	}

	// A master that knows no leader answers 503.
	lone, err := New(Config{Etcd: e[0].Client, Logger: testutil.Logger(t, "lone")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(lone.Handler())
	defer srv.Close()
	for _, p := range []string{"/api/v1/scheduler", "/api/v1/agent", "/master/redirect"} {
		method := http.MethodPost
		if p == "/master/redirect" {
			method = http.MethodGet
		}
		req, _ := http.NewRequest(method, srv.URL+p, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s without leader: %d", p, resp.StatusCode)
		}
	}
}

func TestAuthToken(t *testing.T) {
	e := startEtcd(t, 1)
	const token = "s3cret"
	m := startMaster(t, e[0], "master", func(c *Config) { c.AuthToken = token })
	waitLeader(t, m)
	for _, p := range []string{"/health", "/version", "/master/redirect"} {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(m.URL() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			t.Errorf("%s needs no token, got 401", p)
		}
	}
	for _, p := range []string{"/master/state", "/metrics", "/metrics/snapshot", "/master/tasks"} {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token} {
			req, _ := http.NewRequest(http.MethodGet, m.URL()+p, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %q: %d, want 401", p, auth, resp.StatusCode)
			}
		}
	}
	code, _, _ := post(t, m.URL()+"/api/v1/agent", nil, nil)
	if code != http.StatusUnauthorized {
		t.Errorf("agent stream without token: %d", code)
	}
	// With the token, agents and schedulers work.
	startSim(t, 1, token, nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "auth"}, token, m)
	next(t, s, isType(mesos.EventOffers))
}

func TestAgentStreamRequiresRegisterFirst(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", nil)
	waitLeader(t, m)
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1/agent", strings.NewReader("20\n{\"type\":\"HEARTBEAT\"}"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ev mesos.AgentEvent
	if err := mesos.NewRecordReader(resp.Body).ReadJSON(&ev); err != nil || ev.Type != mesos.AgentEventError {
		t.Fatalf("got %+v, %v; want an ERROR event", ev, err)
	}
}

// TestFrameworkFailoverTimeout: a framework whose scheduler stays away longer than its failover
// timeout is removed and its tasks are killed; one that comes back in time resumes.
func TestFrameworkFailoverTimeout(t *testing.T) {
	e := startEtcd(t, 1)
	var offset atomic.Int64
	cfg := testConfig(t, e[0], "master")
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	waitLeader(t, m)
	sim := startSim(t, 1, "", nil, m)
	c, s := subscribe(t, mesos.FrameworkInfo{Name: "f", FailoverTimeout: failover(60)}, "", m)
	ctx := context.Background()
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Launch(ctx, o.ID, newTaskInfo("t1", o, "cpus:1;mem:64")); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "t1", mesos.TaskRunning))

	// Away for 30s of the 60s: it resumes with its id and its task.
	s.Close()
	waitDisconnected(t, m)
	offset.Add(int64(30 * time.Second))
	m.mu.Lock()
	m.checkFrameworks(m.st, m.now()) // as housekeeping does: it must not act yet
	m.mu.Unlock()
	s = resubscribe(t, c)
	if s.FrameworkID() != c.FrameworkID() {
		t.Fatalf("re-subscribed as %s, was %s", s.FrameworkID(), c.FrameworkID())
	}
	if err := s.Reconcile(ctx, mesos.ReconcileTask{TaskID: mesos.ID{Value: "t1"}}); err != nil {
		t.Fatal(err)
	}
	next(t, s, isUpdate("t1", mesos.TaskRunning))

	// Away for longer than 60s: removed, its task killed on the agent.
	s.Close()
	waitDisconnected(t, m)
	offset.Add(int64(61 * time.Second))
	testutil.WaitFor(t, 5*time.Second, func() error {
		var st stateDoc
		getJSON(t, m, "/master/state", &st)
		if len(st.Frameworks) != 0 || len(st.Completed) != 1 {
			return fmt.Errorf("%d frameworks, %d completed", len(st.Frameworks), len(st.Completed))
		}
		if n := sim.Tasks(); n != 0 {
			return fmt.Errorf("sim still runs %d tasks", n)
		}
		return nil
	})
	checkAccounting(t, m)
	// It cannot come back.
	if _, err := c.Subscribe(ctx); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Errorf("re-subscription of a removed framework: %v", err)
	}
}

// waitDisconnected waits until the master saw every framework's scheduler go.
func waitDisconnected(t *testing.T, m *Master) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, func() error {
		var st stateDoc
		getJSON(t, m, "/master/state", &st)
		for _, f := range st.Frameworks {
			if f.Connected {
				return fmt.Errorf("framework %s still connected", f.ID)
			}
		}
		return nil
	})
}

func TestOfferTimeout(t *testing.T) {
	e := startEtcd(t, 1)
	m := startMaster(t, e[0], "master", func(c *Config) { c.OfferTimeout = 300 * time.Millisecond })
	waitLeader(t, m)
	startSim(t, 1, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "slow"}, "", m)
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	r := next(t, s, isType(mesos.EventRescind)).Rescind
	if r.OfferID != o.ID {
		t.Fatalf("rescinded %s, want %s", r.OfferID.Value, o.ID.Value)
	}
	// The resources come back in a new offer; the old one is gone.
	o2 := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if o2.ID == o.ID {
		t.Fatal("same offer id re-used")
	}
	if err := s.Launch(context.Background(), o.ID, newTaskInfo("late", o, "cpus:1")); err != nil {
		t.Fatal(err)
	}
	if st := next(t, s, isType(mesos.EventUpdate)).Update.Status; st.State != mesos.TaskLost || st.Reason != mesos.ReasonInvalidOffers {
		t.Fatalf("launch on a rescinded offer: %+v", st)
	}
	checkAccounting(t, m)
}

// TestCloseStopsEverything: Close is idempotent and leaves no goroutine of the master behind.
func TestCloseStopsEverything(t *testing.T) {
	e := startEtcd(t, 1)
	m, err := New(testConfig(t, e[0], "master"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, m)
	sim := startSim(t, 3, "", nil, m)
	_, s := subscribe(t, mesos.FrameworkInfo{Name: "x"}, "", m)
	next(t, s, isType(mesos.EventOffers))
	s.Close()
	sim.Close()
	m.Close()
	m.Close()
	if err := m.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}
	http.DefaultClient.CloseIdleConnections()
	testutil.WaitFor(t, 5*time.Second, func() error {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		if leaked := leakedStacks(string(buf)); leaked != "" {
			return fmt.Errorf("goroutines left behind:\n%s", leaked)
		}
		return nil
	})
}

// leakedStacks returns the stacks of goroutines running the master's or the simulator's code,
// or serving or holding HTTP connections (the test's own goroutine aside).
func leakedStacks(all string) string {
	var out []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "testing.tRunner") {
			continue
		}
		if strings.Contains(g, "marina/internal/master") || strings.Contains(g, "marina/internal/agentsim") ||
			strings.Contains(g, "net/http.(*conn).serve") || strings.Contains(g, "net/http.(*persistConn)") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
