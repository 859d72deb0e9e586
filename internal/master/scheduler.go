package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// maxCallBytes bounds the body of a scheduler call.
const maxCallBytes = 4 << 20

// schedConn is one SUBSCRIBE stream; its handler goroutine writes what is queued on q.
type schedConn struct {
	q           *outQueue
	frameworkID string
}

func (c *schedConn) send(ev mesos.Event) { c.q.push(ev) }

var schedulerHeartbeat = mesos.Event{Type: mesos.EventHeartbeat}

// DecodeCall decodes a scheduler call from JSON and validates it.
func DecodeCall(body []byte) (*mesos.Call, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var c mesos.Call
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("failed to parse body into Call: %w", err)
	}
	if dec.More() {
		return nil, errors.New("failed to parse body into Call: trailing data after the JSON object")
	}
	if err := validateCall(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// validateCall checks what every call of its type must carry, as Mesos' call validation does.
func validateCall(c *mesos.Call) error {
	need := func(present bool, field string) error {
		if !present {
			return fmt.Errorf("expecting '%s' to be present", field)
		}
		return nil
	}
	if c.Type != mesos.CallSubscribe {
		if c.FrameworkID == nil || c.FrameworkID.Value == "" {
			return errors.New("expecting 'framework_id' to be present")
		}
	}
	switch c.Type {
	case mesos.CallSubscribe:
		if c.Subscribe == nil {
			return need(false, "subscribe")
		}
		info := &c.Subscribe.FrameworkInfo
		if c.FrameworkID != nil && (info.ID == nil || info.ID.Value != c.FrameworkID.Value) {
			return errors.New("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		if ft := info.FailoverTimeout; ft != nil && (math.IsNaN(*ft) || *ft < 0) {
			return errors.New("'framework_info.failover_timeout' must be a non-negative number")
		}
		for _, r := range info.EffectiveRoles() {
			if err := validateRole(r); err != nil {
				return err
			}
		}
		return nil
	case mesos.CallTeardown, mesos.CallRevive, mesos.CallSuppress:
		return nil
	case mesos.CallAccept:
		return need(c.Accept != nil, "accept")
	case mesos.CallDecline:
		return need(c.Decline != nil, "decline")
	case mesos.CallKill:
		if err := need(c.Kill != nil, "kill"); err != nil {
			return err
		}
		return need(c.Kill.TaskID.Value != "", "kill.task_id")
	case mesos.CallShutdown:
		if err := need(c.Shutdown != nil, "shutdown"); err != nil {
			return err
		}
		return need(c.Shutdown.AgentID.Value != "" && c.Shutdown.ExecutorID.Value != "", "shutdown.agent_id and shutdown.executor_id")
	case mesos.CallAcknowledge:
		if err := need(c.Acknowledge != nil, "acknowledge"); err != nil {
			return err
		}
		a := c.Acknowledge
		return need(a.AgentID.Value != "" && a.TaskID.Value != "" && len(a.UUID) > 0, "acknowledge.agent_id, task_id and uuid")
	case mesos.CallReconcile:
		return need(c.Reconcile != nil, "reconcile")
	case mesos.CallMessage:
		return need(c.Message != nil, "message")
	case "":
		return errors.New("expecting 'type' to be present")
	default:
		return fmt.Errorf("unknown call type %q", c.Type)
	}
}

// validateRole checks a role name as Mesos does.
func validateRole(r string) error {
	switch {
	case r == "" || r == "." || r == "..":
		return fmt.Errorf("role %q is invalid", r)
	case strings.HasPrefix(r, "-") || strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/"):
		return fmt.Errorf("role %q must not start with '-' or '/' nor end with '/'", r)
	case strings.ContainsFunc(r, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }):
		return fmt.Errorf("role %q contains whitespace, control characters or backslashes", r)
	}
	return nil
}

// checkJSONContentType refuses bodies that are not JSON: Marina speaks no protobuf.
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errorf(http.StatusUnsupportedMediaType, "bad Content-Type %q: %v", ct, err)
	}
	switch mt {
	case "application/json", "application/recordio":
		return nil
	case "application/x-protobuf":
		return errorf(http.StatusUnsupportedMediaType, "this master speaks JSON only; send 'Content-Type: application/json'")
	}
	return errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q; expecting application/json", mt)
}

// checkAccept refuses clients that accept protobuf only.
func checkAccept(r *http.Request) error {
	acc := r.Header.Get("Accept")
	if acc == "" || strings.Contains(acc, "json") || strings.Contains(acc, "*/*") || strings.Contains(acc, "application/recordio") {
		return nil
	}
	return errorf(http.StatusNotAcceptable, "this master answers in JSON only; accept application/json")
}

// readCall checks a request to a v1 API (POST, JSON both ways) and reads its body, at most
// maxCallBytes.
func readCall(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, errorf(http.StatusMethodNotAllowed, "expecting POST, got %s", r.Method)
	}
	if err := checkJSONContentType(r); err != nil {
		return nil, err
	}
	if err := checkAccept(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	return body, nil
}

// handleScheduler serves POST /api/v1/scheduler.
func (m *Master) handleScheduler(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method == http.MethodPost && !m.IsLeader() {
		return nil, m.notLeader(r)
	}
	body, err := readCall(w, r)
	if err != nil {
		return nil, err
	}
	call, err := DecodeCall(body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	if call.Type == mesos.CallSubscribe {
		return m.subscribe(w, r, call)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return nil, m.notLeader(r)
	}
	f := st.frameworks[call.FrameworkID.Value]
	if f == nil || f.conn == nil {
		return nil, errorf(http.StatusForbidden, "framework %s is not subscribed", call.FrameworkID.Value)
	}
	sid := r.Header.Get("Mesos-Stream-Id")
	if sid == "" {
		return nil, errorf(http.StatusBadRequest, "all non-subscribe calls should include the 'Mesos-Stream-Id' header")
	}
	if sid != f.streamID {
		return nil, errorf(http.StatusBadRequest, "the stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", sid, f.id)
	}
	m.metrics.calls.WithLabelValues(string(call.Type)).Inc()
	now := m.now()
	switch call.Type {
	case mesos.CallTeardown:
		m.removeFramework(st, f, now, "teardown")
	case mesos.CallAccept:
		m.accept(st, f, call.Accept, now)
	case mesos.CallDecline:
		m.decline(st, f, call.Decline, now)
	case mesos.CallRevive:
		var roles []string
		if call.Revive != nil {
			roles = call.Revive.Roles
		}
		st.alloc.Revive(f.id, roles)
		m.triggerAllocation(st)
	case mesos.CallSuppress:
		var roles []string
		if call.Suppress != nil {
			roles = call.Suppress.Roles
		}
		st.alloc.Suppress(f.id, roles)
	case mesos.CallKill:
		m.kill(st, f, call.Kill)
	case mesos.CallShutdown:
		m.shutdownExecutor(st, f, call.Shutdown)
	case mesos.CallAcknowledge:
		m.acknowledge(st, f, call.Acknowledge)
	case mesos.CallReconcile:
		m.reconcile(st, f, call.Reconcile.Tasks)
	case mesos.CallMessage:
		m.log.Info("MESSAGE to an executor is not supported; dropped", "framework_id", f.id,
			"agent_id", call.Message.AgentID.Value, "executor_id", call.Message.ExecutorID.Value)
	}
	return accepted, nil
}

// subscribe serves SUBSCRIBE: it registers (or re-registers) the framework and streams its
// events until the connection or the subscription ends.
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, call *mesos.Call) (any, error) {
	if !m.beginStream() {
		return nil, errorf(http.StatusServiceUnavailable, "master is shutting down")
	}
	defer m.streams.Done()
	m.mu.Lock()
	st := m.st
	if st == nil {
		m.mu.Unlock()
		return nil, m.notLeader(r)
	}
	conn, refusal := m.subscribeFramework(st, call.Subscribe, r.RemoteAddr)
	m.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	if conn != nil {
		w.Header().Set("Mesos-Stream-Id", conn.streamID)
	}
	w.WriteHeader(http.StatusOK)
	if refusal != "" {
		_ = mesos.NewRecordWriter(w).WriteJSON(mesos.Event{Type: mesos.EventError, Error: &mesos.ErrorEvent{Message: refusal}})
		_ = http.NewResponseController(w).Flush()
		return nil, errStreamed
	}
	err := writeLoop(r.Context(), w, conn.q, m.cfg.SchedulerHeartbeat, schedulerHeartbeat, max(m.cfg.SchedulerHeartbeat, 10*time.Second))
	if err != nil {
		m.log.Debug("scheduler stream ended", "framework_id", conn.frameworkID, "err", err)
	}
	conn.q.close("stream ended")
	m.schedulerDisconnected(conn.schedConn)
	return nil, errStreamed
}

type subscription struct {
	*schedConn
	streamID string
}

// subscribeFramework registers a framework or resumes one (same id; the previous stream is
// closed). It returns the new stream, or a refusal to send as an ERROR event. m.mu must be held.
func (m *Master) subscribeFramework(st *leaderState, sub *mesos.Subscribe, remote string) (*subscription, string) {
	now := m.now()
	info := sub.FrameworkInfo
	var f *framework
	added := true
	if info.ID != nil && info.ID.Value != "" {
		id := info.ID.Value
		if st.findCompletedFramework(id) != nil {
			return nil, "Framework has been removed"
		}
		f = st.frameworks[id]
		if f == nil {
			// Unknown to this master (e.g. subscribed just before a failover): accept it.
			f = newFramework(id, info)
			f.registeredTime = now
			st.frameworks[id] = f
		} else {
			if f.conn != nil {
				f.conn.send(mesos.Event{Type: mesos.EventError, Error: &mesos.ErrorEvent{Message: "Framework failed over"}})
				f.conn.q.close("framework failed over")
				f.conn = nil
			}
			m.clearFrameworkOffers(st, f)
			f.info = info
			f.reregisteredTime = now
			added = false
		}
		m.log.Info("framework re-subscribed", "framework_id", id, "name", info.Name, "was_recovered", f.recovered)
	} else {
		id := fmt.Sprintf("%s-%04d", st.id, st.nextFramework)
		st.nextFramework++
		f = newFramework(id, info)
		f.registeredTime = now
		st.frameworks[id] = f
		m.log.Info("framework subscribed", "framework_id", id, "name", info.Name)
	}
	f.recovered = false
	f.unregisteredTime = time.Time{}
	f.disconnectedAt = time.Time{}
	f.pid = frameworkPID(f.pid, remote)
	conn := &subscription{schedConn: &schedConn{q: newOutQueue(), frameworkID: f.id}, streamID: newUUID()}
	f.conn, f.streamID = conn.schedConn, conn.streamID
	st.alloc.AddFramework(f.id, f.info.EffectiveRoles(), sub.SuppressedRoles)
	st.persistFramework(f)
	st.publishFramework(f, added)
	conn.send(mesos.Event{Type: mesos.EventSubscribed, Subscribed: &mesos.Subscribed{
		FrameworkID:              mesos.ID{Value: f.id},
		HeartbeatIntervalSeconds: m.cfg.SchedulerHeartbeat.Seconds(),
		MasterInfo:               m.masterInfo(st),
	}})
	m.triggerAllocation(st)
	return conn, ""
}

// frameworkPID keeps the "scheduler-<uuid>" name of pid and puts the scheduler's address in it.
func frameworkPID(pid, remote string) string {
	name, _, _ := strings.Cut(pid, "@")
	if remote == "" {
		remote = "0.0.0.0:0"
	}
	return name + "@" + remote
}

// schedulerDisconnected handles the end of a SUBSCRIBE stream: the framework keeps its tasks
// until its failover timeout passes, but gets no offers.
func (m *Master) schedulerDisconnected(conn *schedConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return
	}
	f := st.frameworks[conn.frameworkID]
	if f == nil || f.conn != conn {
		return
	}
	f.conn, f.streamID = nil, ""
	f.disconnectedAt = m.now()
	f.unregisteredTime = f.disconnectedAt
	st.alloc.DeactivateFramework(f.id)
	m.clearFrameworkOffers(st, f)
	st.publishFramework(f, false)
	m.log.Info("framework disconnected", "framework_id", f.id, "failover_timeout", f.info.FailoverTimeoutSeconds())
	m.triggerAllocation(st)
}

// checkFrameworks removes the disconnected frameworks whose failover timeout passed. Frameworks
// recovered after a failover get at least the agent re-registration timeout to come back.
func (m *Master) checkFrameworks(st *leaderState, now time.Time) {
	for _, f := range st.frameworks {
		if f.conn != nil {
			continue
		}
		deadline := f.disconnectedAt.Add(failoverTimeout(f.info))
		if f.recovered {
			deadline = maxTime(deadline, st.elected.Add(m.cfg.AgentReregisterTimeout))
		}
		if !now.Before(deadline) {
			m.removeFramework(st, f, now, "failover timeout passed")
		}
	}
}

func failoverTimeout(info mesos.FrameworkInfo) time.Duration {
	s := info.FailoverTimeoutSeconds()
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	const maxTimeout = 100 * 365 * 24 * time.Hour
	if s >= maxTimeout.Seconds() {
		return maxTimeout
	}
	return time.Duration(s * float64(time.Second))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// removeFramework tears a framework down: its stream closes, its offers go, its tasks are killed
// on their agents (SHUTDOWN_FRAMEWORK) and it moves to the completed frameworks.
func (m *Master) removeFramework(st *leaderState, f *framework, now time.Time, why string) {
	m.log.Info("removing framework", "framework_id", f.id, "name", f.info.Name, "reason", why, "tasks", len(f.tasks))
	if f.conn != nil {
		f.conn.q.close("framework removed")
		f.conn = nil
	}
	m.clearFrameworkOffers(st, f)
	agents := map[string]bool{}
	for _, t := range f.tasks {
		agents[t.agentID] = true
		a := st.agents[t.agentID]
		s := masterStatus(t, mesos.TaskKilled, mesos.ReasonFrameworkRemoved, "Framework "+f.id+" removed", now)
		t.state = mesos.TaskKilled
		t.addStatus(s)
		st.publishTaskUpdated(t, s)
		st.completeTask(t, f, a, true)
	}
	for id, t := range f.unreachable {
		delete(f.unreachable, id)
		f.addCompleted(t)
	}
	for id := range agents {
		if a := st.agents[id]; a != nil && a.conn != nil {
			a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework, ShutdownFramework: &mesos.AgentShutdown{FrameworkID: mesos.ID{Value: f.id}}})
		}
	}
	st.alloc.RemoveFramework(f.id)
	delete(st.frameworks, f.id)
	f.unregisteredTime = now
	st.completedFrameworks = append(st.completedFrameworks, f)
	if n := len(st.completedFrameworks); n > maxCompletedFrameworks {
		st.completedFrameworks = append([]*framework(nil), st.completedFrameworks[n-maxCompletedFrameworks:]...)
	}
	st.forgetFramework(f.id)
	st.publishFrameworkRemoved(f)
	m.triggerAllocation(st)
}
