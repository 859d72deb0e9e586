package master

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// The operator API's event stream (SUBSCRIBE on /api/v1): the master publishes an Event where
// tasks, agents and frameworks change; each subscriber has a bounded queue that a writer
// goroutine drains to its connection. A subscriber that falls behind is cut off, so a slow
// client never blocks the master.

const (
	// operatorHeartbeat is the interval of HEARTBEAT events, as SUBSCRIBED announces it (Mesos
	// sends them every 15 seconds).
	operatorHeartbeat = 15 * time.Second
	// opQueueLen bounds the events queued for one subscriber.
	opQueueLen = 1024
)

// Operator event types.
const (
	opEventSubscribed       = "SUBSCRIBED"
	opEventTaskAdded        = "TASK_ADDED"
	opEventTaskUpdated      = "TASK_UPDATED"
	opEventAgentAdded       = "AGENT_ADDED"
	opEventAgentRemoved     = "AGENT_REMOVED"
	opEventFrameworkAdded   = "FRAMEWORK_ADDED"
	opEventFrameworkUpdated = "FRAMEWORK_UPDATED"
	opEventFrameworkRemoved = "FRAMEWORK_REMOVED"
	opEventHeartbeat        = "HEARTBEAT"
)

// opEvent is mesos.v1.master.Event.
type opEvent struct {
	Type             string            `json:"type"`
	Subscribed       *opSubscribed     `json:"subscribed,omitempty"`
	TaskAdded        *opTaskAdded      `json:"task_added,omitempty"`
	TaskUpdated      *opTaskUpdated    `json:"task_updated,omitempty"`
	AgentAdded       *opAgentAdded     `json:"agent_added,omitempty"`
	AgentRemoved     *opAgentRemoved   `json:"agent_removed,omitempty"`
	FrameworkAdded   *opFrameworkEvent `json:"framework_added,omitempty"`
	FrameworkUpdated *opFrameworkEvent `json:"framework_updated,omitempty"`
	FrameworkRemoved *opFrameworkGone  `json:"framework_removed,omitempty"`
}

type opSubscribed struct {
	GetState                 *opGetState `json:"get_state"`
	HeartbeatIntervalSeconds float64     `json:"heartbeat_interval_seconds"`
}

type opTaskAdded struct {
	Task opTask `json:"task"`
}

type opTaskUpdated struct {
	FrameworkID mesos.ID         `json:"framework_id"`
	Status      mesos.TaskStatus `json:"status"`
	State       mesos.TaskState  `json:"state"`
}

type opAgentAdded struct {
	Agent opAgent `json:"agent"`
}

type opAgentRemoved struct {
	AgentID mesos.ID `json:"agent_id"`
}

type opFrameworkEvent struct {
	Framework opFramework `json:"framework"`
}

type opFrameworkGone struct {
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
}

var opHeartbeatRecord = mustJSON(opEvent{Type: opEventHeartbeat})

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// opHub holds a term's event subscribers. Its methods are called with Master.mu held (it lives
// in leaderState); its zero value is ready.
type opHub struct {
	subs map[*opSub]struct{}
}

// opSub is one subscriber: encoded events on q, done closed when it is cut off.
type opSub struct {
	q      chan []byte
	done   chan struct{}
	once   sync.Once
	reason string // set before done closes
}

func (s *opSub) close(reason string) {
	s.once.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// add registers a subscriber whose queue holds n events, first is queued first.
func (h *opHub) add(n int, first []byte) *opSub {
	s := &opSub{q: make(chan []byte, n), done: make(chan struct{})}
	s.q <- first
	if h.subs == nil {
		h.subs = map[*opSub]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *opHub) remove(s *opSub) { delete(h.subs, s) }

// active reports whether anyone listens, so that publishers skip building events otherwise.
func (h *opHub) active() bool { return len(h.subs) > 0 }

// publish queues ev for every subscriber without blocking; one whose queue is full is cut off.
func (h *opHub) publish(ev opEvent) {
	if len(h.subs) == 0 {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return // every field is plain data: cannot happen
	}
	for s := range h.subs {
		select {
		case s.q <- b:
		default:
			s.close("too slow: event queue overflow")
			delete(h.subs, s)
		}
	}
}

// closeAll cuts off every subscriber.
func (h *opHub) closeAll(reason string) {
	for s := range h.subs {
		s.close(reason)
		delete(h.subs, s)
	}
}

// operatorSubscribe serves SUBSCRIBE: SUBSCRIBED with the whole state, then events as they
// happen and a HEARTBEAT every operatorHeartbeat, until the client leaves, the subscriber is
// cut off, leadership is lost or the master closes.
func (m *Master) operatorSubscribe(w http.ResponseWriter, r *http.Request) (any, error) {
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
	first := mustJSON(opEvent{Type: opEventSubscribed, Subscribed: &opSubscribed{
		GetState: opState(st), HeartbeatIntervalSeconds: operatorHeartbeat.Seconds(),
	}})
	sub := st.ops.add(opQueueLen, first)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		st.ops.remove(sub)
		m.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel)
	defer stop()
	if err := writeOpEvents(ctx, w, sub, operatorHeartbeat); err != nil {
		m.log.Debug("operator event stream ended", "remote", r.RemoteAddr, "err", err)
	} else {
		m.log.Debug("operator event stream ended", "remote", r.RemoteAddr, "reason", sub.reason)
	}
	return nil, errStreamed
}

// writeOpEvents writes the subscriber's events as RecordIO records, flushing after each batch,
// and a HEARTBEAT every interval, until ctx ends, the subscriber is cut off or a write fails.
func writeOpEvents(ctx context.Context, w http.ResponseWriter, sub *opSub, interval time.Duration) error {
	rc := http.NewResponseController(w)
	rw := mesos.NewRecordWriter(w)
	t := time.NewTicker(interval)
	defer t.Stop()
	const writeTimeout = 10 * time.Second
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := rw.Write(b); err != nil {
			return err
		}
		for { // write what else is queued before flushing
			select {
			case more := <-sub.q:
				if err := rw.Write(more); err != nil {
					return err
				}
			default:
				return rc.Flush()
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.done:
			return nil
		case b := <-sub.q:
			if err := write(b); err != nil {
				return err
			}
		case <-t.C:
			if err := write(opHeartbeatRecord); err != nil {
				return err
			}
		}
	}
}

// The publish hooks below are called, with Master.mu held, where the master changes a task,
// an agent or a framework.

// publishTaskAdded announces a task the master just accepted for launch.
func (st *leaderState) publishTaskAdded(t *task) {
	if st.ops.active() {
		st.ops.publish(opEvent{Type: opEventTaskAdded, TaskAdded: &opTaskAdded{Task: opTaskOf(t)}})
	}
}

// publishTaskUpdated announces a task's new state; s is the status that brought it.
func (st *leaderState) publishTaskUpdated(t *task, s mesos.TaskStatus) {
	if st.ops.active() {
		st.ops.publish(opEvent{Type: opEventTaskUpdated, TaskUpdated: &opTaskUpdated{
			FrameworkID: mesos.ID{Value: t.frameworkID}, Status: s, State: t.state,
		}})
	}
}

// publishAgentAdded announces an agent that registered, or came back after a failover or
// after being unreachable.
func (st *leaderState) publishAgentAdded(a *agent) {
	if st.ops.active() {
		st.ops.publish(opEvent{Type: opEventAgentAdded, AgentAdded: &opAgentAdded{Agent: opAgentOf(a)}})
	}
}

// publishAgentRemoved announces an agent that is no longer part of the cluster (unreachable).
func (st *leaderState) publishAgentRemoved(id string) {
	st.ops.publish(opEvent{Type: opEventAgentRemoved, AgentRemoved: &opAgentRemoved{AgentID: mesos.ID{Value: id}}})
}

// publishFramework announces a framework that subscribed (added) or re-subscribed or
// disconnected (updated).
func (st *leaderState) publishFramework(f *framework, added bool) {
	if !st.ops.active() {
		return
	}
	ev := &opFrameworkEvent{Framework: opFrameworkOf(f)}
	if added {
		st.ops.publish(opEvent{Type: opEventFrameworkAdded, FrameworkAdded: ev})
	} else {
		st.ops.publish(opEvent{Type: opEventFrameworkUpdated, FrameworkUpdated: ev})
	}
}

// publishFrameworkRemoved announces a framework torn down.
func (st *leaderState) publishFrameworkRemoved(f *framework) {
	if st.ops.active() {
		info := f.info
		info.ID = &mesos.ID{Value: f.id}
		st.ops.publish(opEvent{Type: opEventFrameworkRemoved, FrameworkRemoved: &opFrameworkGone{FrameworkInfo: info}})
	}
}
