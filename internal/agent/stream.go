package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marina-dcos/marina/internal/agent/internal/launchtrace"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/detect"
)

// agentVersion is the Mesos version the agent reports.
const agentVersion = "1.11.0"

// session is one attempt at a stream to a master, from the backoff before it to its end. send
// never blocks: a full queue drops the call, which the update manager retries.
type session struct {
	out        chan mesos.AgentCall
	hb         chan time.Duration
	cancel     context.CancelFunc
	registered atomic.Bool
	detecting  atomic.Bool // a POST /detect runs for this session

	mu     sync.Mutex
	master string // the master the stream is opened to, "" before it is chosen
	next   string // the leader to connect to at once, set by follow
}

// setMaster records the master the stream is opened to.
func (s *session) setMaster(m string) {
	s.mu.Lock()
	s.master = m
	s.mu.Unlock()
}

// follow ends the session for a stream to leader, unless it is (being) opened to leader
// already. It reports whether it ended the session.
func (s *session) follow(leader string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.master == leader || s.next != "" {
		return false
	}
	s.next = leader
	s.cancel()
	return true
}

// followed returns the leader follow ended the session for, or "".
func (s *session) followed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

func (s *session) isRegistered() bool { return s.registered.Load() }

func (s *session) send(c mesos.AgentCall) bool {
	select {
	case s.out <- c:
		return true
	default:
		return false
	}
}

// errSilent ends a stream on which the master said nothing for Timeout.
var errSilent = errors.New("master stream silent")

// errLeaderChanged ends a session whose master is no longer the leader (see redetect).
var errLeaderChanged = errors.New("another master leads")

// connectLoop keeps the agent registered: it finds the leader, holds a stream to it, and when
// the stream ends starts over after a jittered backoff (100ms doubling to 2s), or at once with
// the leader a redirect or POST /detect named.
func (a *Agent) connectLoop() {
	backoff := a.connectBackoffMin
	hint := ""
	var wait time.Duration
	for {
		a.mu.Lock()
		disconnected, reconnect := a.disconnected, a.reconnect
		a.mu.Unlock()
		if disconnected {
			select {
			case <-a.ctx.Done():
				return
			case <-reconnect:
			}
			backoff, hint, wait = a.connectBackoffMin, "", 0
		}
		registered, next, err := a.runSession(hint, wait)
		if a.ctx.Err() != nil {
			return
		}
		if registered {
			backoff = a.connectBackoffMin
		}
		if errors.Is(err, errLeaderChanged) {
			a.log.Info("connecting to the new leading master", "leader", next)
			hint, wait, backoff = next, 0, a.connectBackoffMin
			continue
		}
		if next != "" && hint == "" {
			a.log.Debug("redirected to the leader", "leader", next)
			hint, wait = next, 0
			continue // follow a redirect once at once
		}
		hint = next
		if err != nil {
			a.log.Info("master stream ended", "err", err, "retry_in", backoff)
		}
		wait = backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, a.connectBackoffMax)
	}
}

// runSession waits wait, finds the leader (or uses hint), registers and serves the stream until
// it ends. It reports whether the master registered the agent, and a leader the master
// redirected to, or that POST /detect found (with errLeaderChanged).
func (a *Agent) runSession(hint string, wait time.Duration) (registered bool, redirect string, err error) {
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	s := &session{out: make(chan mesos.AgentCall, 1024), hb: make(chan time.Duration, 1), cancel: cancel}
	a.mu.Lock()
	if a.disconnected {
		a.mu.Unlock()
		return false, "", nil
	}
	a.sess = s
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.sess == s {
			a.sess = nil
		}
		a.mu.Unlock()
		if next := s.followed(); next != "" {
			redirect, err = next, errLeaderChanged
		}
	}()

	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, "", ctx.Err()
		case <-t.C:
		}
	}
	leader := hint
	if leader == "" {
		if leader, err = detect.Leader(ctx, a.client, a.cfg.AuthToken, a.cfg.Masters); err != nil {
			return false, "", err
		}
	}
	s.setMaster(leader)
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, leader+"/api/v1/agent", pr)
	if err != nil {
		return false, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	a.authorize(req)
	a.mu.Lock()
	reg := a.registerCallLocked()
	a.mu.Unlock()

	// The transport copies the body until the pipe closes, and on a failed round trip waits for
	// that copy to end before Do returns: close the pipe as soon as the session ends.
	stopPipe := context.AfterFunc(ctx, func() {
		pr.CloseWithError(context.Canceled)
		pw.CloseWithError(context.Canceled)
	})
	defer stopPipe()
	var wg sync.WaitGroup
	var resp *http.Response
	defer func() {
		cancel()
		pr.CloseWithError(context.Canceled)
		pw.CloseWithError(context.Canceled)
		if resp != nil {
			resp.Body.Close()
		}
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.writeLoop(ctx, pw, reg, s)
	}()

	// Response headers must come within Timeout too.
	headerTimer := time.AfterFunc(a.cfg.Timeout, cancel)
	resp, err = a.client.Do(req)
	headerTimer.Stop()
	if err != nil {
		return false, "", fmt.Errorf("open stream to %s: %w", leader, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound, http.StatusSeeOther:
		loc, lerr := detect.Resolve(leader, resp.Header.Get("Location"))
		if lerr != nil {
			return false, "", fmt.Errorf("%s redirected to a bad location: %w", leader, lerr)
		}
		return false, loc, fmt.Errorf("%s is not the leader", leader)
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return false, "", fmt.Errorf("open stream to %s: %s: %s", leader, resp.Status, strings.TrimSpace(string(body)))
	}

	events := make(chan mesos.AgentEvent)
	readErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rr := mesos.NewRecordReader(resp.Body)
		for {
			var ev mesos.AgentEvent
			if err := rr.ReadJSON(&ev); err != nil {
				readErr <- err
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()

	silence := time.NewTimer(a.cfg.Timeout)
	defer silence.Stop()
	for {
		select {
		case <-ctx.Done():
			return s.isRegistered(), "", ctx.Err()
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				err = errors.New("master closed the stream")
			}
			return s.isRegistered(), "", err
		case <-silence.C:
			return s.isRegistered(), "", fmt.Errorf("%w for %v", errSilent, a.cfg.Timeout)
		case ev := <-events:
			silence.Reset(a.cfg.Timeout)
			if err := a.handleEvent(s, &ev); err != nil {
				return s.isRegistered(), "", err
			}
		}
	}
}

// writeLoop writes REGISTER, then queued calls and a HEARTBEAT every interval, until ctx ends
// or a write fails (which ends the session).
func (a *Agent) writeLoop(ctx context.Context, pw *io.PipeWriter, first mesos.AgentCall, s *session) {
	rw := mesos.NewRecordWriter(pw)
	if err := rw.WriteJSON(first); err != nil {
		s.cancel()
		return
	}
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	heartbeat := mesos.AgentCall{Type: mesos.AgentCallHeartbeat}
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case d := <-s.hb:
			t.Reset(d)
		case c := <-s.out:
			err = rw.WriteJSON(c)
		case <-t.C:
			err = rw.WriteJSON(heartbeat)
		}
		if err != nil {
			a.log.Debug("write to master", "err", err)
			s.cancel()
			return
		}
	}
}

// handleEvent acts on one event from the master. An error ends the stream.
func (a *Agent) handleEvent(s *session, ev *mesos.AgentEvent) error {
	if ev.Type != mesos.AgentEventRegistered && ev.Type != mesos.AgentEventError &&
		ev.Type != mesos.AgentEventHeartbeat && !s.isRegistered() {
		a.log.Warn("event before REGISTERED ignored", "type", ev.Type)
		return nil
	}
	switch ev.Type {
	case mesos.AgentEventRegistered:
		if ev.Registered == nil || ev.Registered.AgentID.Value == "" {
			return errors.New("REGISTERED without an agent id")
		}
		return a.onRegistered(s, ev.Registered)
	case mesos.AgentEventLaunch:
		if ev.Launch != nil {
			for _, ti := range ev.Launch.Tasks {
				launchtrace.Mark(ti.TaskID.Value, launchtrace.Received)
			}
			a.handleLaunch(ev.Launch)
		}
	case mesos.AgentEventKill:
		if ev.Kill != nil {
			a.handleKill(ev.Kill)
		}
	case mesos.AgentEventAcknowledged:
		if ev.Acknowledged != nil {
			a.handleAck(ev.Acknowledged)
		}
	case mesos.AgentEventShutdownFramework:
		if ev.ShutdownFramework != nil {
			a.handleShutdown(ev.ShutdownFramework)
		}
	case mesos.AgentEventHeartbeat:
	case mesos.AgentEventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return fmt.Errorf("master error: %s", msg)
	default:
		a.log.Debug("unknown event ignored", "type", ev.Type)
	}
	return nil
}

func (a *Agent) onRegistered(s *session, r *mesos.AgentRegistered) error {
	id := r.AgentID.Value
	if err := checkID(id); err != nil {
		return fmt.Errorf("REGISTERED: %w", err)
	}
	a.mu.Lock()
	if a.savedID != "" && a.savedID != id {
		a.log.Warn("master assigned a new agent id", "old", a.savedID, "new", id)
	}
	reregistered := a.savedID == id
	if a.savedID != id {
		if err := writeJSON(a.dir.agentID(), id); err != nil {
			a.mu.Unlock()
			return fmt.Errorf("checkpoint agent id: %w", err)
		}
		a.savedID = id
	}
	a.id = id
	s.registered.Store(true)
	if d := time.Duration(r.HeartbeatIntervalSeconds * float64(time.Second)); d > 0 && d < a.cfg.HeartbeatInterval {
		select {
		case s.hb <- d:
		default:
		}
	}
	a.resendAllLocked()
	a.mu.Unlock()
	a.registeredOnce.Do(func() { close(a.registered) })
	a.log.Info("registered with master", "agent_id", id, "reregistered", reregistered)
	return nil
}

// registerCallLocked builds REGISTER: the agent, its tasks with their latest state (terminal
// ones too while their last update is unacknowledged, as Mesos re-registers them) and their
// frameworks.
func (a *Agent) registerCallLocked() mesos.AgentCall {
	info := mesos.AgentInfo{
		Hostname:   a.cfg.Hostname,
		Port:       a.advertisePort(),
		Resources:  a.cfg.Resources,
		Attributes: a.cfg.Attributes,
	}
	if id := a.agentIDLocked(); id != "" {
		info.ID = mesos.NewID(id)
	}
	reg := &mesos.AgentRegister{Info: info, Version: agentVersion}
	fws := map[string]bool{}
	for _, t := range a.sortedTasksLocked() {
		if t.rec.Phantom {
			continue
		}
		at := mesos.AgentTask{FrameworkID: mesos.ID{Value: t.key.fw}, Task: t.rec.Task, State: t.state}
		if st := t.latest(); st != nil {
			c := *st
			at.Status = &c
		}
		reg.Tasks = append(reg.Tasks, at)
		fws[t.key.fw] = true
	}
	for _, fw := range slices.Sorted(maps.Keys(fws)) {
		if f, ok := a.frameworks[fw]; ok {
			reg.Frameworks = append(reg.Frameworks, f.info)
		}
	}
	return mesos.AgentCall{Type: mesos.AgentCallRegister, Register: reg}
}

// sortedTasksLocked returns the tasks ordered by framework and id.
func (a *Agent) sortedTasksLocked() []*task {
	out := make([]*task, 0, len(a.tasks))
	for _, t := range a.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(x, y *task) int {
		if c := strings.Compare(x.key.fw, y.key.fw); c != 0 {
			return c
		}
		return strings.Compare(x.key.task, y.key.task)
	})
	return out
}

// detectResult answers POST /detect.
type detectResult struct {
	Leader       string `json:"leader"`
	Reconnecting bool   `json:"reconnecting"`
}

// redetect serves POST /detect, which a newly elected master sends every agent of its registry
// so that agents whose stream to the old leader went silent (its machine died without closing
// a socket) re-register at once instead of after Timeout. The call carries no data: the agent
// finds the leader itself, from its configured masters (detect.Leader), and ends its session
// only when another master leads. A forged or stale call costs one detection, never a wrong
// leader; one detection runs per session at a time.
func (a *Agent) redetect(w http.ResponseWriter, r *http.Request) (any, error) {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	if s == nil {
		return nil, &httpError{http.StatusServiceUnavailable, "not connecting to masters"}
	}
	if !s.detecting.CompareAndSwap(false, true) {
		return nil, &httpError{http.StatusTooManyRequests, "a detection is running"}
	}
	defer s.detecting.Store(false)
	leader, err := detect.Leader(r.Context(), a.client, a.cfg.AuthToken, a.cfg.Masters)
	if err != nil {
		return nil, &httpError{http.StatusServiceUnavailable, err.Error()}
	}
	res := detectResult{Leader: leader, Reconnecting: s.follow(leader)}
	if res.Reconnecting {
		a.log.Info("another master leads; re-registering", "leader", leader)
	}
	return res, nil
}

func (a *Agent) authorize(req *http.Request) {
	if a.cfg.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+a.cfg.AuthToken)
	}
}

// advertiseIP returns the advertised host when it is an IP address, else "".
func (a *Agent) advertiseIP() string {
	host, _, err := net.SplitHostPort(a.advertise)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return ""
	}
	return ip.String()
}

func isIPv4(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() != nil
}
