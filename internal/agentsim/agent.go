package agentsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// headerTimeout bounds the wait for the master's answer to a new stream.
const headerTimeout = 10 * time.Second

type taskKey struct{ framework, task string }

type simTask struct {
	frameworkID string
	info        mesos.TaskInfo
	state       mesos.TaskState
	status      *mesos.TaskStatus // latest
	finishAt    time.Time         // zero: runs until killed
	queue       []*update         // unacknowledged updates, oldest first; the head is in flight
}

type update struct {
	msg  mesos.AgentUpdate
	sent time.Time // zero: not sent on the current stream yet
}

// simAgent is one simulated agent. Its event loop (run) and its stream reader are its only
// goroutines; mu guards what Sim's accessors read.
type simAgent struct {
	sim *Sim
	idx int

	mu         sync.Mutex
	id         string
	tasks      map[taskKey]*simTask
	frameworks map[string]mesos.FrameworkInfo
	cancel     context.CancelFunc
	done       chan struct{}

	connected atomic.Bool
}

func (a *simAgent) running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cancel != nil
}

// run keeps a stream to the leading master until ctx ends, reconnecting with backoff.
func (a *simAgent) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := a.session(ctx)
		a.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		a.sim.log.Info("agent stream ended; reconnecting", "agent", a.idx, "err", err)
		if time.Since(start) > 5*time.Second {
			backoff = 50 * time.Millisecond
		}
		d := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// session registers on one stream and serves it until it breaks.
func (a *simAgent) session(ctx context.Context) error {
	leader, err := a.sim.findLeader(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, leader+"/api/v1/agent", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if a.sim.cfg.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+a.sim.cfg.AuthToken)
	}
	// The request body is written while the response is read: register first, since the
	// transport only returns the response once the master has its headers out.
	rw := mesos.NewRecordWriter(pw)
	regErr := make(chan error, 1)
	go func() { regErr <- rw.WriteJSON(a.registerCall()) }()
	// The transport reports a failed round trip only once the request body has ended: end it
	// when the session ends, or when the master does not answer within headerTimeout.
	stop := context.AfterFunc(sctx, func() { pw.CloseWithError(context.Canceled) })
	defer stop()
	hdrTimer := time.AfterFunc(headerTimeout, cancel)
	resp, err := a.sim.client.Do(req)
	hdrTimer.Stop()
	if err != nil {
		pw.CloseWithError(err)
		<-regErr
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		pw.CloseWithError(errors.New("refused"))
		<-regErr
		return fmt.Errorf("agentsim: %s: %s: %s", leader, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := <-regErr; err != nil {
		return err
	}

	events := make(chan mesos.AgentEvent, 64)
	var readErr error
	go func() {
		defer close(events)
		rr := mesos.NewRecordReader(resp.Body)
		for {
			var ev mesos.AgentEvent
			if err := rr.ReadJSON(&ev); err != nil {
				readErr = err
				return
			}
			select {
			case events <- ev:
			case <-sctx.Done():
				readErr = sctx.Err()
				return
			}
		}
	}()
	defer func() {
		cancel()
		resp.Body.Close()
		for range events { // wait for the reader
		}
	}()

	s := &stream{a: a, w: rw}
	hbEvery := a.sim.cfg.HeartbeatInterval
	if hbEvery <= 0 {
		hbEvery = 5 * time.Second
	}
	hb := time.NewTicker(hbEvery)
	defer hb.Stop()
	silence := 4 * hbEvery
	lastEvent := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(s.nextWake(time.Now()))
		select {
		case <-sctx.Done():
			return sctx.Err()
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("agentsim: stream closed: %w", readErr)
			}
			lastEvent = time.Now()
			if ev.Type == mesos.AgentEventRegistered && ev.Registered != nil && a.sim.cfg.HeartbeatInterval <= 0 {
				if d := time.Duration(ev.Registered.HeartbeatIntervalSeconds * float64(time.Second)); d > 0 {
					hbEvery = d
					hb.Reset(d)
					silence = max(4*d, 2*time.Second)
				}
			}
			if err := s.handle(ev); err != nil {
				return err
			}
		case <-hb.C:
			if time.Since(lastEvent) > silence {
				return errors.New("agentsim: master silent")
			}
			if err := s.write(mesos.AgentCall{Type: mesos.AgentCallHeartbeat}); err != nil {
				return err
			}
		case <-timer.C:
			if err := s.tick(time.Now()); err != nil {
				return err
			}
		}
	}
}

// registerCall is REGISTER with the agent's id (once it has one) and its tasks.
func (a *simAgent) registerCall() mesos.AgentCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	info := mesos.AgentInfo{
		Hostname:   a.sim.cfg.HostnameFunc(a.idx),
		Port:       int32(20000 + a.idx%40000),
		Resources:  a.sim.cfg.Resources,
		Attributes: a.sim.cfg.Attributes,
	}
	if a.id != "" {
		info.ID = &mesos.ID{Value: a.id}
	}
	reg := &mesos.AgentRegister{Info: info, Version: "agentsim"}
	for k, t := range a.tasks {
		reg.Tasks = append(reg.Tasks, mesos.AgentTask{FrameworkID: mesos.ID{Value: k.framework}, Task: t.info, State: t.state, Status: t.status})
	}
	for _, fi := range a.frameworks {
		reg.Frameworks = append(reg.Frameworks, fi)
	}
	return mesos.AgentCall{Type: mesos.AgentCallRegister, Register: reg}
}

// stream is one session's view: it writes calls and applies events to the agent.
type stream struct {
	a *simAgent
	w *mesos.RecordWriter
}

func (s *stream) write(c mesos.AgentCall) error { return s.w.WriteJSON(c) }

func (s *stream) handle(ev mesos.AgentEvent) error {
	a := s.a
	now := time.Now()
	switch ev.Type {
	case mesos.AgentEventRegistered:
		if ev.Registered == nil {
			return errors.New("agentsim: REGISTERED without payload")
		}
		a.mu.Lock()
		a.id = ev.Registered.AgentID.Value
		for _, t := range a.tasks { // resend what is in flight on the new stream
			if len(t.queue) > 0 {
				t.queue[0].sent = time.Time{}
			}
		}
		a.mu.Unlock()
		a.connected.Store(true)
	case mesos.AgentEventLaunch:
		if ev.Launch == nil {
			return nil
		}
		fwID := ""
		if ev.Launch.Framework.ID != nil {
			fwID = ev.Launch.Framework.ID.Value
		}
		a.mu.Lock()
		if a.frameworks == nil {
			a.frameworks = map[string]mesos.FrameworkInfo{}
		}
		a.frameworks[fwID] = ev.Launch.Framework
		for _, ti := range ev.Launch.Tasks {
			key := taskKey{fwID, ti.TaskID.Value}
			if a.tasks[key] != nil {
				continue
			}
			t := &simTask{frameworkID: fwID, info: ti}
			if d := a.sim.cfg.TaskDuration; d > 0 {
				t.finishAt = now.Add(d)
			}
			a.tasks[key] = t
			a.transition(t, mesos.TaskRunning, "")
		}
		a.mu.Unlock()
	case mesos.AgentEventKill:
		if ev.Kill == nil {
			return nil
		}
		a.mu.Lock()
		if t := a.tasks[taskKey{ev.Kill.FrameworkID.Value, ev.Kill.TaskID.Value}]; t != nil && !t.state.Terminal() {
			a.transition(t, mesos.TaskKilled, "")
		}
		a.mu.Unlock()
	case mesos.AgentEventAcknowledged:
		if ev.Acknowledged == nil {
			return nil
		}
		a.mu.Lock()
		key := taskKey{ev.Acknowledged.FrameworkID.Value, ev.Acknowledged.TaskID.Value}
		if t := a.tasks[key]; t != nil && len(t.queue) > 0 && string(t.queue[0].msg.Status.UUID) == string(ev.Acknowledged.UUID) {
			t.queue = t.queue[1:]
			if len(t.queue) == 0 && t.state.Terminal() {
				delete(a.tasks, key)
			}
		}
		a.mu.Unlock()
	case mesos.AgentEventShutdownFramework:
		if ev.ShutdownFramework == nil {
			return nil
		}
		fwID := ev.ShutdownFramework.FrameworkID.Value
		a.mu.Lock()
		for k := range a.tasks {
			if k.framework == fwID {
				delete(a.tasks, k)
			}
		}
		delete(a.frameworks, fwID)
		a.mu.Unlock()
	case mesos.AgentEventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return fmt.Errorf("agentsim: master error: %s", msg)
	}
	return s.tick(now)
}

// transition moves a task to state and queues the status update. a.mu must be held.
func (a *simAgent) transition(t *simTask, state mesos.TaskState, msg string) {
	st := mesos.TaskStatus{
		TaskID:     t.info.TaskID,
		State:      state,
		Message:    msg,
		Source:     mesos.SourceExecutor,
		AgentID:    &mesos.ID{Value: a.id},
		ExecutorID: &mesos.ID{Value: t.info.TaskID.Value},
		Timestamp:  float64(time.Now().UnixNano()) / 1e9,
		UUID:       a.sim.newUUID(seqCounter.Add(1)),
	}
	if state == mesos.TaskRunning {
		st.ContainerStatus = &mesos.ContainerStatus{NetworkInfos: []mesos.NetworkInfo{{
			IPAddresses: []mesos.IPAddress{{Protocol: "IPv4", IPAddress: "127.0.0.1"}},
		}}}
	}
	t.state, t.status = state, &st
	t.queue = append(t.queue, &update{msg: mesos.AgentUpdate{FrameworkID: mesos.ID{Value: t.frameworkID}, Status: st}})
}

// tick finishes due tasks and sends the head update of every task that is unsent or due for a
// retry.
func (s *stream) tick(now time.Time) error {
	a := s.a
	var out []mesos.AgentCall
	a.mu.Lock()
	for _, t := range a.tasks {
		if !t.finishAt.IsZero() && !t.finishAt.After(now) && !t.state.Terminal() {
			t.finishAt = time.Time{}
			a.transition(t, mesos.TaskFinished, "")
		}
		if len(t.queue) == 0 {
			continue
		}
		u := t.queue[0]
		if u.sent.IsZero() || now.Sub(u.sent) >= a.sim.cfg.ResendInterval {
			u.sent = now
			u.msg.Status.AgentID = &mesos.ID{Value: a.id}
			out = append(out, mesos.AgentCall{Type: mesos.AgentCallUpdate, Update: &u.msg})
		}
	}
	a.mu.Unlock()
	for _, c := range out {
		if err := s.write(c); err != nil {
			return err
		}
	}
	return nil
}

// nextWake returns how long until the next task finishes or update is due for a retry.
func (s *stream) nextWake(now time.Time) time.Duration {
	a := s.a
	next := time.Hour
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tasks {
		if !t.finishAt.IsZero() {
			next = min(next, t.finishAt.Sub(now))
		}
		if len(t.queue) > 0 && !t.queue[0].sent.IsZero() {
			next = min(next, t.queue[0].sent.Add(a.sim.cfg.ResendInterval).Sub(now))
		}
	}
	return max(next, time.Millisecond)
}
