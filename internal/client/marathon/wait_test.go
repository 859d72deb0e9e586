package marathon_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

// plan is a two-step deployment plan.
func plan(id string) api.DeploymentPlan {
	return api.DeploymentPlan{ID: id, Version: "v1", Steps: []api.DeploymentStep{
		{Actions: []api.DeploymentAction{{Action: api.ActionStartApplication, App: "/web"}}},
		{Actions: []api.DeploymentAction{{Action: api.ActionScaleApplication, App: "/web"}}},
	}}
}

func stepEvent(typ string, p api.DeploymentPlan, step int) api.DeploymentStepEvent {
	return api.DeploymentStepEvent{EventMeta: api.EventMeta{EventType: typ}, Plan: p, CurrentStep: p.Steps[step]}
}

// listed makes GET /v2/deployments list the deployment while *on is true.
func listed(srv *marathontest.Server, id string, step int) func(bool) {
	var mu sync.Mutex
	on := true
	srv.Handle("GET", "/v2/deployments", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !on {
			_, _ = io.WriteString(w, "[]")
			return
		}
		p := plan(id)
		_, _ = io.WriteString(w, `[{"id":"`+id+`","version":"v1","affectedApps":["/web"],"affectedPods":[],"steps":`+
			string(must(json.Marshal(p.Steps)))+`,"currentActions":[],"currentStep":`+strconv.Itoa(step)+`,"totalSteps":2}]`)
	})
	return func(b bool) { mu.Lock(); on = b; mu.Unlock() }
}

type waitResult struct {
	err      error
	progress []marathon.Progress
}

func startWait(t *testing.T, c *marathon.Client, id string, poll time.Duration) <-chan waitResult {
	t.Helper()
	done := make(chan waitResult, 1)
	go func() {
		var res waitResult
		var mu sync.Mutex
		res.err = c.WaitForDeploymentWith(context.Background(), id, marathon.WaitOptions{
			PollInterval: poll,
			Progress: func(p marathon.Progress) {
				mu.Lock()
				res.progress = append(res.progress, p)
				mu.Unlock()
			},
		})
		done <- res
	}()
	return done
}

func await(t *testing.T, ch <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("WaitForDeployment did not return")
	}
	return waitResult{}
}

func TestWaitFollowsTheEventStream(t *testing.T) {
	for _, tc := range []struct {
		name    string
		final   string
		wantErr bool
	}{{"success", api.EventDeploymentSuccessType, false}, {"failure", api.EventDeploymentFailedType, true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := marathontest.New(t)
			listed(srv, "d1", 1)
			done := startWait(t, newClient(t, srv.URL), "d1", time.Hour)
			if err := srv.WaitSubscribers(1, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			p := plan("d1")
			other := plan("other")
			srv.Publish(api.EventDeploymentInfoType, stepEvent(api.EventDeploymentInfoType, other, 0)) // not ours
			srv.Publish(api.EventDeploymentInfoType, stepEvent(api.EventDeploymentInfoType, p, 0))
			srv.Publish(api.EventDeploymentStepSuccessType, stepEvent(api.EventDeploymentStepSuccessType, p, 0))
			srv.Publish(api.EventDeploymentInfoType, stepEvent(api.EventDeploymentInfoType, p, 1))
			srv.Publish(api.EventDeploymentSuccessType, api.DeploymentEvent{EventMeta: api.EventMeta{EventType: api.EventDeploymentSuccessType}, ID: "other"})
			srv.Publish(tc.final, api.DeploymentEvent{EventMeta: api.EventMeta{EventType: tc.final}, ID: "d1", Plan: &p, Reason: "boom"})
			res := await(t, done)
			if tc.wantErr {
				var fe *marathon.DeploymentFailedError
				if !errors.As(res.err, &fe) || fe.Reason != "boom" || !errors.Is(res.err, marathon.ErrDeploymentFailed) {
					t.Fatalf("err = %v", res.err)
				}
			} else if res.err != nil {
				t.Fatal(res.err)
			}
			want := []struct {
				event string
				step  int
			}{{api.EventDeploymentInfoType, 1}, {api.EventDeploymentStepSuccessType, 1}, {api.EventDeploymentInfoType, 2}}
			if len(res.progress) != len(want) {
				t.Fatalf("progress = %+v", res.progress)
			}
			for i, w := range want {
				p := res.progress[i]
				if p.Event != w.event || p.Step != w.step || p.TotalSteps != 2 || p.DeploymentID != "d1" || len(p.Actions) != 1 {
					t.Errorf("progress %d = %+v, want %+v", i, p, w)
				}
			}
			req, _ := srv.Last("GET", "/v2/events")
			if len(req.Query["event_type"]) != 5 {
				t.Errorf("subscribed to %v", req.Query["event_type"])
			}
		})
	}
}

func TestWaitSeesAnEndedDeploymentByPolling(t *testing.T) {
	srv := marathontest.New(t)
	set := listed(srv, "d1", 1)
	set(false) // over before the wait began: its events are gone
	res := await(t, startWait(t, newClient(t, srv.URL), "d1", time.Hour))
	if res.err != nil {
		t.Fatal(res.err)
	}
}

func TestWaitPollsWhenTheStreamIsDown(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/events", 405, []byte("<html>HTTP ERROR: 405</html>"), "Content-Type", "text/html")
	var mu sync.Mutex
	step := 1
	srv.Handle("GET", "/v2/deployments", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch step {
		case 1, 2:
			_, _ = io.WriteString(w, `[{"id":"d1","version":"v","affectedApps":[],"affectedPods":[],"steps":[{"actions":[{"action":"StartApplication","app":"/web"}]},{"actions":[{"action":"ScaleApplication","app":"/web"}]}],"currentActions":[],"currentStep":`+strconv.Itoa(step)+`,"totalSteps":2}]`)
		default:
			_, _ = io.WriteString(w, `[]`)
		}
		step++
	})
	res := await(t, startWait(t, newClient(t, srv.URL), "d1", 10*time.Millisecond))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.progress) != 2 || res.progress[0].Event != "poll" || res.progress[1].Step != 2 ||
		res.progress[1].Actions[0].Action != api.ActionScaleApplication {
		t.Errorf("progress = %+v", res.progress)
	}
}

func TestWaitResubscribesAfterTheStreamEnds(t *testing.T) {
	srv := marathontest.New(t)
	listed(srv, "d1", 1)
	done := startWait(t, newClient(t, srv.URL), "d1", 20*time.Millisecond)
	if err := srv.WaitSubscribers(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	srv.EndEvents()
	deadline := time.Now().Add(5 * time.Second)
	for n := 0; n < 2; {
		n = 0
		for _, r := range srv.Requests() {
			if r.Path == "/v2/events" {
				n++
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no second subscription")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.WaitSubscribers(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	srv.Publish(api.EventDeploymentSuccessType, api.DeploymentEvent{EventMeta: api.EventMeta{EventType: api.EventDeploymentSuccessType}, ID: "d1"})
	if res := await(t, done); res.err != nil {
		t.Fatal(res.err)
	}
}

func TestWaitStopsOnAPermanentError(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/deployments", 403, []byte(`{"message":"Not Authorized to perform this action!"}`))
	res := await(t, startWait(t, newClient(t, srv.URL), "d1", time.Hour))
	if !errors.Is(res.err, marathon.ErrUnauthorized) {
		t.Fatalf("err = %v", res.err)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	srv := marathontest.New(t)
	listed(srv, "d1", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := newClient(t, srv.URL).WaitForDeploymentWith(ctx, "d1", marathon.WaitOptions{PollInterval: 10 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	waitGoroutines(t)
}

func TestEventsChannel(t *testing.T) {
	srv := marathontest.New(t)
	c := newClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := c.Events(ctx, api.EventStatusUpdateType)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitSubscribers(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if req, _ := srv.Last("GET", "/v2/events"); req.Header.Get("Accept") != "text/event-stream" {
		t.Errorf("Accept = %q", req.Header.Get("Accept"))
	}
	// The example stream, raw: the fake does not filter raw frames, the client does.
	srv.PublishRaw("", marathontest.Example(t, "events.txt"))
	for _, want := range []string{"TASK_FAILED", "TASK_RUNNING"} {
		ev := <-ch
		su, err := ev.Decode()
		if err != nil || su.(*api.StatusUpdateEvent).TaskStatus != want {
			t.Fatalf("event %+v: %v", ev, err)
		}
	}
	srv.EndEvents()
	if ev := <-ch; !errors.Is(ev.Err, io.EOF) {
		t.Errorf("last value = %+v, want Err io.EOF", ev)
	}
	if _, ok := <-ch; ok {
		t.Error("channel not closed")
	}
	cancel()

	// Ending through the context closes the channel without an error value.
	ctx, cancel = context.WithCancel(context.Background())
	ch, err = c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for ev := range ch {
		if ev.Err != nil {
			t.Errorf("error value after cancel: %v", ev.Err)
		}
	}
	waitGoroutines(t)

	srv.Reply("GET", "/v2/events", 401, []byte(`{"message":"Invalid username or password."}`))
	if _, err := c.Events(context.Background()); !errors.Is(err, marathon.ErrUnauthorized) {
		t.Errorf("err = %v", err)
	}
}

// waitGoroutines fails the test when goroutines running the client's code outlive it. Idle
// keep-alive connections of net/http come and go on their own and are not counted.
func waitGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		leaked := 0
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "internal/client/marathon.") {
				leaked++
			}
		}
		if leaked == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of the client leaked:\n%s", leaked, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
