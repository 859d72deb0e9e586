package master

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// agentConn is one agent stream: the master pushes AgentEvents on q; the stream's writer
// goroutine writes them.
type agentConn struct {
	q       *outQueue
	agentID string
}

func (c *agentConn) send(ev mesos.AgentEvent) { c.q.push(ev) }

var agentHeartbeat = mesos.AgentEvent{Type: mesos.AgentEventHeartbeat}

// handleAgentStream serves POST /api/v1/agent: one full-duplex RecordIO stream per agent,
// AgentCalls in the request body, AgentEvents in the response body.
func (m *Master) handleAgentStream(w http.ResponseWriter, r *http.Request) (any, error) {
	// The body is an endless stream: an answer other than the stream must not wait for its end
	// (net/http would try to drain it to keep the connection alive).
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	if r.Method != http.MethodPost {
		return nil, errorf(http.StatusMethodNotAllowed, "expecting POST, got %s", r.Method)
	}
	if err := checkJSONContentType(r); err != nil {
		return nil, err
	}
	if !m.IsLeader() {
		return nil, m.notLeader(r)
	}
	if !m.beginStream() {
		return nil, errorf(http.StatusServiceUnavailable, "master is shutting down")
	}
	defer m.streams.Done()

	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex() // not supported (nor needed) on HTTP/2
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, errStreamed
	}
	rr := mesos.NewRecordReader(r.Body)
	_ = rc.SetReadDeadline(time.Now().Add(m.cfg.AgentTimeout))
	var call mesos.AgentCall
	if err := rr.ReadJSON(&call); err != nil {
		m.log.Debug("agent stream ended before REGISTER", "remote", r.RemoteAddr, "err", err)
		return nil, errStreamed
	}
	if call.Type != mesos.AgentCallRegister || call.Register == nil {
		writeAgentError(w, rc, "the first call must be REGISTER")
		return nil, errStreamed
	}
	_ = rc.SetReadDeadline(time.Time{})

	m.log.Debug("agent stream opened", "remote", r.RemoteAddr, "proto", r.Proto)
	conn := &agentConn{q: newOutQueue()}
	m.mu.Lock()
	err := errorf(http.StatusServiceUnavailable, "not the leading master")
	if st := m.st; st != nil {
		_, err = m.registerAgent(st, conn, call.Register, remoteIP(r))
	}
	m.mu.Unlock()
	if err != nil {
		writeAgentError(w, rc, err.Error())
		return nil, errStreamed
	}

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		err := writeLoop(r.Context(), w, conn.q, m.cfg.AgentHeartbeat, agentHeartbeat, max(m.cfg.AgentTimeout, 5*time.Second))
		if err != nil {
			m.log.Debug("agent stream write", "agent_id", conn.agentID, "err", err)
		}
		conn.q.close("stream ended")
		_ = rc.SetReadDeadline(time.Now()) // unblock the reader
	}()
	for {
		call = mesos.AgentCall{}
		if err := rr.ReadJSON(&call); err != nil {
			if !errors.Is(err, io.EOF) && !conn.q.closed() {
				m.log.Debug("agent stream read", "agent_id", conn.agentID, "err", err)
			}
			break
		}
		m.agentCall(conn, &call, remoteIP(r))
	}
	conn.q.close("stream ended")
	<-writerDone
	m.agentDisconnected(conn)
	return nil, errStreamed
}

// beginStream registers a stream handler with Close, unless the master is closing.
func (m *Master) beginStream() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return false
	}
	m.streams.Add(1)
	return true
}

func writeAgentError(w http.ResponseWriter, rc *http.ResponseController, msg string) {
	_ = mesos.NewRecordWriter(w).WriteJSON(mesos.AgentEvent{Type: mesos.AgentEventError, Error: &mesos.ErrorEvent{Message: msg}})
	_ = rc.Flush()
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// agentCall handles one call of a registered agent's stream.
func (m *Master) agentCall(conn *agentConn, call *mesos.AgentCall, ip string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		conn.q.close("master lost leadership")
		return
	}
	a := st.agents[conn.agentID]
	if a == nil || a.conn != conn {
		conn.q.close("replaced by a newer connection")
		return
	}
	a.lastSeen = time.Now()
	switch call.Type {
	case mesos.AgentCallHeartbeat:
	case mesos.AgentCallUpdate:
		if call.Update != nil {
			m.agentUpdate(st, a, call.Update)
		}
	case mesos.AgentCallRegister:
		if call.Register != nil {
			if _, err := m.registerAgent(st, conn, call.Register, ip); err != nil {
				conn.send(mesos.AgentEvent{Type: mesos.AgentEventError, Error: &mesos.ErrorEvent{Message: err.Error()}})
				conn.q.close("bad re-registration")
			}
		}
	default:
		m.log.Warn("unknown agent call", "agent_id", a.id, "type", call.Type)
	}
}

// registerAgent registers a new agent, or re-registers a known (or, after a failover, unknown)
// one with the tasks it reports. m.mu must be held.
func (m *Master) registerAgent(st *leaderState, conn *agentConn, reg *mesos.AgentRegister, ip string) (*agent, error) {
	info := reg.Info
	if info.Hostname == "" {
		return nil, errors.New("agent_info.hostname is required")
	}
	if err := info.Resources.Validate(); err != nil {
		return nil, fmt.Errorf("agent_info.resources: %w", err)
	}
	now := m.now()
	id := ""
	if info.ID != nil {
		id = info.ID.Value
	}
	a := st.agents[id]
	persist := a == nil
	added := a == nil || a.recovered || a.unreachable
	switch {
	case id == "":
		id = fmt.Sprintf("%s-S%d", st.id, st.nextAgent)
		st.nextAgent++
		a = newAgent(id)
		a.registeredTime = now
		st.agents[id] = a
	case a == nil: // unknown to this master: accept it, as Mesos does after a failover
		a = newAgent(id)
		a.registeredTime, a.reregisteredTime = now, now
		st.agents[id] = a
	default:
		if a.conn != nil && a.conn != conn {
			a.conn.q.close("replaced by a newer connection")
		}
		a.conn = nil
		if a.inAllocator() {
			m.removeAgentOffers(st, a, false)
			st.alloc.RemoveAgent(id)
		}
		a.reregisteredTime = now
	}
	wasUnreachable := a.unreachable
	if a.recovered {
		a.recovered = false
		st.recovering--
	}
	a.unreachable, a.unreachableTime = false, time.Time{}
	info.ID = &mesos.ID{Value: id}
	pid := agentPID(info, ip)
	if !persist {
		old, _ := json.Marshal(a.info)
		cur, _ := json.Marshal(info)
		persist = wasUnreachable || string(old) != string(cur) || pid != a.pid || reg.Version != a.version
	}
	a.info, a.pid, a.version = info, pid, reg.Version
	a.conn, conn.agentID = conn, id
	a.lastSeen = time.Now()
	st.alloc.AddAgent(id, info.Resources)
	if a.deactivated {
		st.alloc.DeactivateAgent(id)
	}
	conn.send(mesos.AgentEvent{Type: mesos.AgentEventRegistered, Registered: &mesos.AgentRegistered{
		AgentID:                  mesos.ID{Value: id},
		MasterInfo:               m.masterInfo(st),
		HeartbeatIntervalSeconds: m.cfg.AgentHeartbeat.Seconds(),
	}})
	m.adoptAgentTasks(st, a, reg, wasUnreachable, now)
	m.resumeDrain(st, a)
	if added {
		st.publishAgentAdded(a)
	}
	if persist {
		st.persistAgent(a)
	}
	m.log.Info("agent registered", "agent_id", id, "hostname", info.Hostname, "pid", pid, "tasks", len(a.tasks), "was_unreachable", wasUnreachable)
	m.triggerAllocation(st)
	return a, nil
}

// agentPID returns "slave(1)@ip:port": the agent's hostname when it is an IP, else the address
// its stream comes from.
func agentPID(info mesos.AgentInfo, remote string) string {
	host := remote
	if net.ParseIP(info.Hostname) != nil {
		host = info.Hostname
	}
	port := int(info.Port)
	if port == 0 {
		port = 5051
	}
	return "slave(1)@" + net.JoinHostPort(host, strconv.Itoa(port))
}

// pidAddr returns the host and port of a "name@host:port" pid.
func pidAddr(pid string) (string, int) {
	_, addr, _ := strings.Cut(pid, "@")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// adoptAgentTasks rebuilds the task table from what a (re-)registering agent reports: its live
// tasks are allocated again, tasks of non-partition-aware frameworks that were reported LOST
// while the agent was unreachable are killed, and tasks the master knew on it but the agent
// does not report are gone.
func (m *Master) adoptAgentTasks(st *leaderState, a *agent, reg *mesos.AgentRegister, wasUnreachable bool, now time.Time) {
	before := maps.Clone(a.tasks)
	infos := map[string]mesos.FrameworkInfo{}
	for _, fi := range reg.Frameworks {
		if fi.ID != nil {
			infos[fi.ID.Value] = fi
		}
	}
	shutdown := map[string]bool{}
	reported := map[taskKey]bool{}
	for _, at := range reg.Tasks {
		fwID, tid := at.FrameworkID.Value, at.Task.TaskID.Value
		if fwID == "" || tid == "" {
			continue
		}
		key := taskKey{fwID, tid}
		reported[key] = true
		f := st.frameworks[fwID]
		if f == nil {
			if st.findCompletedFramework(fwID) != nil {
				shutdown[fwID] = true
				continue
			}
			f = m.recoverFramework(st, fwID, infos[fwID], now)
		}
		t, fromUnreachable := a.tasks[key], false
		if t == nil {
			if ut := f.unreachable[tid]; ut != nil && ut.agentID == a.id {
				t, fromUnreachable = ut, true
				delete(f.unreachable, tid)
			} else if other := f.tasks[tid]; other != nil {
				m.log.Warn("agent reports a task the master knows on another agent; ignoring it",
					"agent_id", a.id, "framework_id", fwID, "task_id", tid, "other_agent_id", other.agentID)
				continue
			}
		}
		state := at.State
		if state == "" && at.Status != nil {
			state = at.Status.State
		}
		known := t != nil
		if !known {
			t = newTask(at.Task, f, a.id, state)
		}
		t.state = state
		if at.Status != nil {
			t.addStatus(*at.Status)
		}
		if state.Terminal() {
			if !fromUnreachable && before[key] != nil {
				st.completeTask(t, f, a, false)
			} else {
				f.addCompleted(t)
			}
			continue
		}
		t.unreachableTime = time.Time{}
		f.tasks[tid], a.tasks[key] = t, t
		st.alloc.Allocate(a.id, fwID, t.role, t.resources)
		if !known {
			st.publishTaskAdded(t) // known to this master from now on, as after a failover
		}
		if !fromUnreachable {
			continue
		}
		if f.partitionAware() {
			s := mesos.TaskStatus{State: state, Message: "Agent " + a.id + " re-registered"}
			if at.Status != nil {
				s = *at.Status
				s.UUID = nil
			}
			s.TaskID, s.AgentID = t.info.TaskID, &mesos.ID{Value: a.id}
			s.Source, s.Timestamp = mesos.SourceMaster, seconds(now)
			m.sendUpdate(f, s)
		} else {
			// The framework was told TASK_LOST: the task must not come back (Mesos kills it).
			a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventKill, Kill: &mesos.AgentKill{
				FrameworkID: mesos.ID{Value: fwID}, TaskID: t.info.TaskID, KillPolicy: t.info.KillPolicy}})
		}
	}
	for key, t := range before {
		if reported[key] {
			continue
		}
		f := st.frameworks[key.framework]
		state := mesos.TaskLost
		if f != nil && f.partitionAware() {
			state = mesos.TaskDropped
		}
		s := masterStatus(t, state, mesos.ReasonTaskUnknown, "Task is unknown to the agent", now)
		t.state = state
		t.addStatus(s)
		st.publishTaskUpdated(t, s)
		st.completeTask(t, f, a, false)
		if f != nil {
			m.sendUpdate(f, s)
		}
	}
	if wasUnreachable {
		for _, f := range st.frameworks {
			for tid, t := range f.unreachable {
				if t.agentID == a.id && !reported[taskKey{f.id, tid}] {
					delete(f.unreachable, tid)
					f.addCompleted(t)
				}
			}
		}
	}
	for fwID := range shutdown {
		a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework, ShutdownFramework: &mesos.AgentShutdown{FrameworkID: mesos.ID{Value: fwID}}})
	}
}

// recoverFramework adds a framework known only from a re-registering agent: inactive until its
// scheduler subscribes.
func (m *Master) recoverFramework(st *leaderState, id string, info mesos.FrameworkInfo, now time.Time) *framework {
	f := newFramework(id, info)
	f.recovered = true
	f.disconnectedAt = now
	st.frameworks[id] = f
	st.alloc.AddFramework(id, f.info.EffectiveRoles(), nil)
	st.alloc.DeactivateFramework(id)
	st.persistFramework(f)
	st.publishFramework(f, true)
	m.log.Info("framework recovered from an agent", "framework_id", id, "name", f.info.Name)
	return f
}

// agentDisconnected handles the end of an agent's stream: its resources are no longer offered;
// it becomes unreachable unless it comes back within the agent timeout.
func (m *Master) agentDisconnected(conn *agentConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return
	}
	a := st.agents[conn.agentID]
	if a == nil || a.conn != conn {
		return
	}
	a.conn = nil
	if a.inAllocator() {
		st.alloc.DeactivateAgent(a.id)
		m.removeAgentOffers(st, a, true)
	}
	m.log.Info("agent disconnected", "agent_id", a.id)
}

// checkAgents marks unreachable the agents silent for longer than the agent timeout and the
// registry's agents that did not re-register within the re-registration timeout, then removes
// the unreachable agents the registry keeps no longer (gcRegistry). Its first run follows the
// election, so a new leader removes at once what its predecessor would have.
func (m *Master) checkAgents(st *leaderState, mono, wall time.Time) {
	for _, a := range st.agents {
		switch {
		case a.unreachable:
		case a.recovered:
			if mono.Sub(st.electedMono) >= m.cfg.AgentReregisterTimeout {
				m.markUnreachable(st, a, wall, "did not re-register after a master failover")
			}
		case mono.Sub(a.lastSeen) >= m.cfg.AgentTimeout:
			m.markUnreachable(st, a, wall, "silent for longer than the agent timeout")
		}
	}
	m.gcRegistry(st, wall)
}

// markUnreachable removes an agent from allocation and reports its tasks TASK_UNREACHABLE to
// partition-aware frameworks, TASK_LOST to others.
func (m *Master) markUnreachable(st *leaderState, a *agent, now time.Time, why string) {
	m.log.Warn("agent unreachable", "agent_id", a.id, "hostname", a.info.Hostname, "reason", why, "tasks", len(a.tasks))
	if a.conn != nil {
		a.conn.q.close("agent marked unreachable")
		a.conn = nil
	}
	if a.inAllocator() {
		m.removeAgentOffers(st, a, false)
		st.alloc.RemoveAgent(a.id)
	}
	if a.recovered {
		a.recovered = false
		st.recovering--
	}
	a.unreachable, a.unreachableTime = true, now
	for key, t := range a.tasks {
		delete(a.tasks, key)
		f := st.frameworks[t.frameworkID]
		state := mesos.TaskLost
		if f != nil && f.partitionAware() {
			state = mesos.TaskUnreachable
		}
		s := masterStatus(t, state, mesos.ReasonAgentRemoved, "Agent "+a.id+" is unreachable", now)
		s.UnreachableTime = &mesos.TimeInfo{Nanoseconds: now.UnixNano()}
		t.state, t.unreachableTime = state, now
		t.addStatus(s)
		st.publishTaskUpdated(t, s)
		st.terminal[state]++
		if f != nil {
			delete(f.tasks, t.info.TaskID.Value)
			f.unreachable[t.info.TaskID.Value] = t
			m.sendUpdate(f, s)
		}
	}
	for _, f := range st.frameworks {
		if f.conn != nil {
			f.conn.send(mesos.Event{Type: mesos.EventFailure, Failure: &mesos.Failure{AgentID: &mesos.ID{Value: a.id}}})
		}
	}
	st.publishAgentRemoved(a.id)
	st.persistAgent(a)
}
