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
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marina-dcos/marina/internal/agent/internal/launchtrace"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// agentVersion is the Mesos version the agent reports.
const agentVersion = "1.11.0"

// session is one stream to a master. send never blocks: a full queue drops the call, which the
// update manager retries.
type session struct {
	out        chan mesos.AgentCall
	hb         chan time.Duration
	cancel     context.CancelFunc
	registered atomic.Bool
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

// connectLoop keeps the agent registered: it finds the leader, holds a stream to it, and when
// the stream ends starts over after a jittered backoff (100ms doubling to 2s).
func (a *Agent) connectLoop() {
	backoff := a.connectBackoffMin
	hint := ""
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
			backoff, hint = a.connectBackoffMin, ""
		}
		registered, redirect, err := a.runSession(hint)
		if a.ctx.Err() != nil {
			return
		}
		if registered {
			backoff = a.connectBackoffMin
		}
		if redirect != "" && hint == "" {
			a.log.Debug("redirected to the leader", "leader", redirect)
			hint = redirect
			continue // follow a redirect once at once
		}
		hint = redirect
		if err != nil {
			a.log.Info("master stream ended", "err", err, "retry_in", backoff)
		}
		d := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-a.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, a.connectBackoffMax)
	}
}

// runSession finds the leader (or uses hint), registers and serves the stream until it ends.
// It reports whether the master registered the agent, and a leader the master redirected to.
func (a *Agent) runSession(hint string) (registered bool, redirect string, err error) {
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
	}()

	leader := hint
	if leader == "" {
		if leader, err = a.findLeader(ctx); err != nil {
			return false, "", err
		}
	}

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
		loc, lerr := resolveLeader(leader, resp.Header.Get("Location"))
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

// findLeader asks each master in turn where the leader is.
func (a *Agent) findLeader(ctx context.Context) (string, error) {
	var errs []error
	for _, m := range a.cfg.Masters {
		leader, err := a.askLeader(ctx, strings.TrimRight(m, "/"))
		if err == nil {
			return leader, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no leading master: %w", errors.Join(errs...))
}

func (a *Agent) askLeader(ctx context.Context, master string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, master+"/master/redirect", nil)
	if err != nil {
		return "", err
	}
	a.authorize(req)
	resp, err := a.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusFound, http.StatusPermanentRedirect, http.StatusSeeOther:
		return resolveLeader(master, resp.Header.Get("Location"))
	default:
		return "", fmt.Errorf("%s: %s", master, resp.Status)
	}
}

// resolveLeader turns a redirect Location ("//host:port", maybe with a path, or an absolute
// URL) into the leader's base URL, with base's scheme when Location has none.
func resolveLeader(base, location string) (string, error) {
	if location == "" {
		return "", errors.New("no Location")
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	l, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(l)
	if u.Host == "" {
		return "", fmt.Errorf("location %q names no host", location)
	}
	return u.Scheme + "://" + u.Host, nil
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
