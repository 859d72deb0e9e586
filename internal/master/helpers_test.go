package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agentsim"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/testutil"
)

// startEtcd starts n embedded etcd members forming one cluster.
func startEtcd(t *testing.T, n int) []*coord.Coord {
	t.Helper()
	dir := t.TempDir()
	cfgs := make([]coord.Config, n)
	var initial []string
	for i := range cfgs {
		cfgs[i] = coord.Config{
			Name:         fmt.Sprintf("e%d", i),
			DataDir:      filepath.Join(dir, fmt.Sprintf("e%d", i)),
			ClientURL:    fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
			PeerURL:      fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
			TickMs:       50,
			ElectionMs:   500,
			EtcdLogLevel: "fatal",
			Logger:       testutil.Logger(t, fmt.Sprintf("etcd%d", i)),
		}
		initial = append(initial, cfgs[i].Name+"="+cfgs[i].PeerURL)
	}
	out := make([]*coord.Coord, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfgs {
		cfgs[i].InitialCluster = strings.Join(initial, ",")
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = coord.Start(ctx, cfgs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("etcd member %d: %v", i, err)
		}
		t.Cleanup(func() { out[i].Close() })
	}
	return out
}

// testConfig returns a master config with short, test-friendly timeouts.
func testConfig(t *testing.T, cli *coord.Coord, name string) Config {
	return Config{
		Listen:                 "127.0.0.1:0",
		Hostname:               "127.0.0.1",
		Etcd:                   cli.Client,
		LeaderTTL:              time.Second,
		AgentHeartbeat:         200 * time.Millisecond,
		AgentTimeout:           2 * time.Second,
		AgentReregisterTimeout: 5 * time.Second,
		SchedulerHeartbeat:     time.Second,
		Logger:                 testutil.Logger(t, name),
	}
}

// startMaster starts a master; edit adjusts its config.
func startMaster(t *testing.T, c *coord.Coord, name string, edit func(*Config)) *Master {
	t.Helper()
	cfg := testConfig(t, c, name)
	if edit != nil {
		edit(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitLeader waits until one of ms leads and returns it.
func waitLeader(t *testing.T, ms ...*Master) *Master {
	t.Helper()
	var leader *Master
	testutil.WaitFor(t, 15*time.Second, func() error {
		for _, m := range ms {
			if m.IsLeader() {
				leader = m
				return nil
			}
		}
		return fmt.Errorf("no leader among %d masters", len(ms))
	})
	return leader
}

// startSim starts n simulated agents against the masters and waits for their registration.
func startSim(t *testing.T, n int, token string, edit func(*agentsim.Config), masters ...*Master) *agentsim.Sim {
	t.Helper()
	urls := make([]string, len(masters))
	for i, m := range masters {
		urls[i] = m.URL()
	}
	return startSimAt(t, n, token, edit, urls...)
}

// startSimAt is startSim for masters given by URL.
func startSimAt(t *testing.T, n int, token string, edit func(*agentsim.Config), urls ...string) *agentsim.Sim {
	t.Helper()
	res, err := mesos.ParseResources("cpus:4;mem:4096;disk:10240;ports:[31000-31999]")
	if err != nil {
		t.Fatal(err)
	}
	cfg := agentsim.Config{
		Masters:        urls,
		Count:          n,
		Resources:      res,
		Attributes:     []mesos.Attribute{{Name: "rack", Type: mesos.Text, Text: &mesos.TextValue{Value: "r1"}}},
		AuthToken:      token,
		ResendInterval: 500 * time.Millisecond,
		Logger:         testutil.Logger(t, "agentsim"),
	}
	if edit != nil {
		edit(&cfg)
	}
	sim := agentsim.New(cfg)
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sim.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	return sim
}

func failover(s float64) *float64 { return &s }

// subscribe subscribes a framework through the scheduler client.
func subscribe(t *testing.T, info mesos.FrameworkInfo, token string, masters ...*Master) (*scheduler.Client, *scheduler.Stream) {
	t.Helper()
	urls := make([]string, len(masters))
	for i, m := range masters {
		urls[i] = m.URL()
	}
	return subscribeAt(t, info, token, urls...)
}

// subscribeAt is subscribe for masters given by URL.
func subscribeAt(t *testing.T, info mesos.FrameworkInfo, token string, urls ...string) (*scheduler.Client, *scheduler.Stream) {
	t.Helper()
	if info.User == "" {
		info.User = "root"
	}
	if info.FailoverTimeout == nil {
		info.FailoverTimeout = failover(3600)
	}
	c := scheduler.New(scheduler.Config{Masters: urls, Framework: info, AuthToken: token})
	s := resubscribe(t, c)
	return c, s
}

func resubscribe(t *testing.T, c *scheduler.Client) *scheduler.Stream {
	t.Helper()
	var s *scheduler.Stream
	testutil.WaitFor(t, 15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		s, err = c.Subscribe(context.Background())
		_ = ctx
		return err
	})
	t.Cleanup(func() {
		go func() { // the client's reader blocks while its event channel is full
			for range s.Events {
			}
		}()
		s.Close()
	})
	ev := next(t, s, func(ev mesos.Event) bool { return ev.Type == mesos.EventSubscribed })
	if ev.Subscribed.FrameworkID.Value == "" {
		t.Fatal("SUBSCRIBED without framework id")
	}
	return s
}

// next returns the next event matching pred, skipping others, within 10s.
func next(t *testing.T, s *scheduler.Stream, pred func(mesos.Event) bool) mesos.Event {
	t.Helper()
	ev, ok := nextWithin(s, 10*time.Second, pred)
	if !ok {
		t.Fatalf("no matching event within 10s (stream err: %v)", s.Err())
	}
	return ev
}

func nextWithin(s *scheduler.Stream, d time.Duration, pred func(mesos.Event) bool) (mesos.Event, bool) {
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.Events:
			if !ok {
				return mesos.Event{}, false
			}
			if pred(ev) {
				return ev, true
			}
		case <-timeout:
			return mesos.Event{}, false
		}
	}
}

func isType(t mesos.EventType) func(mesos.Event) bool {
	return func(ev mesos.Event) bool { return ev.Type == t }
}

// isUpdate matches UPDATE events of task id in state.
func isUpdate(id string, state mesos.TaskState) func(mesos.Event) bool {
	return func(ev mesos.Event) bool {
		return ev.Type == mesos.EventUpdate && ev.Update.Status.TaskID.Value == id && ev.Update.Status.State == state
	}
}

// ackingUpdate is isUpdate that also acknowledges every update carrying a uuid.
func ackingUpdate(t *testing.T, s *scheduler.Stream, id string, state mesos.TaskState) func(mesos.Event) bool {
	return func(ev mesos.Event) bool {
		if ev.Type != mesos.EventUpdate {
			return false
		}
		if err := s.Acknowledge(context.Background(), ev.Update.Status); err != nil {
			t.Errorf("acknowledge: %v", err)
		}
		return ev.Update.Status.TaskID.Value == id && ev.Update.Status.State == state
	}
}

// task returns a command task using res on the offer's agent.
func newTaskInfo(id string, o mesos.Offer, res string) mesos.TaskInfo {
	r, err := mesos.ParseResources(res)
	if err != nil {
		panic(err)
	}
	cmd := "sleep 1000"
	return mesos.TaskInfo{Name: id, TaskID: mesos.ID{Value: id}, AgentID: o.AgentID, Resources: r,
		Command: &mesos.CommandInfo{Value: &cmd}}
}

// getJSON GETs path from the master and decodes the answer.
func getJSON(t *testing.T, m *Master, path string, v any) int {
	t.Helper()
	resp, err := http.Get(m.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// post sends a raw scheduler call.
func post(t *testing.T, url string, hdr map[string]string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), resp.Header
}

// usedCPUs returns the cpus the leader's allocator holds for frameworks on all agents.
func usedCPUs(m *Master) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		return -1
	}
	var sum float64
	for id := range m.st.agents {
		sum += m.st.alloc.Used(id).Scalar("cpus")
	}
	return sum
}

func ioCopy(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// launch returns one LAUNCH operation of tasks.
func launch(tasks ...mesos.TaskInfo) []mesos.Operation {
	return []mesos.Operation{{Type: mesos.OperationLaunch, Launch: &mesos.Launch{TaskInfos: tasks}}}
}

// rawSub is a subscription made with plain HTTP, for tests that need the stream id.
type rawSub struct {
	streamID, frameworkID string
	events                chan mesos.Event
	body                  io.Closer
	offers                []mesos.Offer // offers seen while waiting for other events
}

func rawSubscribe(t *testing.T, m *Master, info mesos.FrameworkInfo) *rawSub {
	t.Helper()
	if info.User == "" {
		info.User = "root"
	}
	if info.FailoverTimeout == nil {
		info.FailoverTimeout = failover(3600)
	}
	body, _ := json.Marshal(mesos.Call{Type: mesos.CallSubscribe, Subscribe: &mesos.Subscribe{FrameworkInfo: info}})
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("subscribe content type %q", ct)
	}
	rs := &rawSub{streamID: resp.Header.Get("Mesos-Stream-Id"), events: make(chan mesos.Event, 1024), body: resp.Body}
	if rs.streamID == "" {
		t.Fatal("no Mesos-Stream-Id")
	}
	rr := mesos.NewRecordReader(resp.Body)
	var first mesos.Event
	if err := rr.ReadJSON(&first); err != nil || first.Type != mesos.EventSubscribed {
		t.Fatalf("first event %+v: %v", first, err)
	}
	rs.frameworkID = first.Subscribed.FrameworkID.Value
	go func() {
		defer close(rs.events)
		for {
			var ev mesos.Event
			if err := rr.ReadJSON(&ev); err != nil {
				return
			}
			rs.events <- ev
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return rs
}

// call posts a call of the subscribed framework and returns the status and body.
func (rs *rawSub) call(t *testing.T, m *Master, c mesos.Call) (int, string) {
	t.Helper()
	if c.FrameworkID == nil {
		c.FrameworkID = &mesos.ID{Value: rs.frameworkID}
	}
	b, _ := json.Marshal(c)
	code, body, _ := post(t, m.URL()+"/api/v1/scheduler", map[string]string{"Mesos-Stream-Id": rs.streamID}, b)
	return code, body
}

func (rs *rawSub) next(t *testing.T, pred func(mesos.Event) bool) mesos.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-rs.events:
			if !ok {
				t.Fatal("stream closed")
			}
			if pred(ev) {
				return ev
			}
			if ev.Type == mesos.EventOffers {
				rs.offers = append(rs.offers, ev.Offers.Offers...)
			}
		case <-timeout:
			t.Fatal("no matching event within 10s")
		}
	}
}

// checkAccounting fails unless, on every agent, what the allocator holds for frameworks is
// exactly the live tasks' resources plus the outstanding offers.
func checkAccounting(t *testing.T, m *Master) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		st := m.st
		if st == nil {
			return fmt.Errorf("not leading")
		}
		for id, a := range st.agents {
			if !a.inAllocator() {
				continue
			}
			var want mesos.Resources
			for _, tk := range a.tasks {
				want = want.Add(tk.resources)
			}
			for _, o := range a.offers {
				want = want.Add(o.resources)
			}
			if got := st.alloc.Used(id); !got.Equal(want) {
				return fmt.Errorf("agent %s: allocator holds %s, tasks and offers hold %s", id, got, want)
			}
		}
		return nil
	})
}

// offer returns an offer made to the framework (one seen before, or the next one).
func (rs *rawSub) offer(t *testing.T) mesos.Offer {
	t.Helper()
	if len(rs.offers) == 0 {
		rs.offers = rs.next(t, isType(mesos.EventOffers)).Offers.Offers
	}
	o := rs.offers[0]
	rs.offers = rs.offers[1:]
	return o
}

// waitUpdates waits for an UPDATE of each task in want with its state, in any order.
func waitUpdates(t *testing.T, s *scheduler.Stream, want map[string]mesos.TaskState) map[string]mesos.TaskStatus {
	t.Helper()
	got := map[string]mesos.TaskStatus{}
	for len(got) < len(want) {
		ev := next(t, s, func(ev mesos.Event) bool {
			if ev.Type != mesos.EventUpdate {
				return false
			}
			st, ok := want[ev.Update.Status.TaskID.Value]
			return ok && st == ev.Update.Status.State
		})
		got[ev.Update.Status.TaskID.Value] = ev.Update.Status
	}
	return got
}

// runPlainAndPartitionAware subscribes a framework ("plain") and a PARTITION_AWARE one ("pa") to
// m, and has each run one task on the one agent there is: plain.1 and pa.1, RUNNING.
func runPlainAndPartitionAware(t *testing.T, m *Master) (s, pa *scheduler.Stream) {
	t.Helper()
	_, s = subscribe(t, mesos.FrameworkInfo{Name: "plain"}, "", m)
	_, pa = subscribe(t, mesos.FrameworkInfo{Name: "pa", Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityPartitionAware}}}, "", m)
	ctx := context.Background()
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Accept(ctx, []mesos.ID{o.ID}, launch(newTaskInfo("plain.1", o, "cpus:1;mem:64")), &mesos.Filters{RefuseSeconds: failover(0)}); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "plain.1", mesos.TaskRunning))
	o = next(t, pa, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := pa.Launch(ctx, o.ID, newTaskInfo("pa.1", o, "cpus:1;mem:64")); err != nil {
		t.Fatal(err)
	}
	next(t, pa, ackingUpdate(t, pa, "pa.1", mesos.TaskRunning))
	return s, pa
}
