package services

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// Marathon event types this role emits.
const (
	evAPIPost        = marathon.EventAPIPostType
	evStatusUpdate   = marathon.EventStatusUpdateType
	evDeploymentInfo = marathon.EventDeploymentInfoType
	evDeploymentOK   = marathon.EventDeploymentSuccessType
	evDeploymentFail = marathon.EventDeploymentFailedType
	evDeploymentStep = marathon.EventDeploymentStepSuccessType
	evAppTerminated  = marathon.EventAppTerminatedType
	evStreamAttached = marathon.EventStreamAttachedType
	evStreamDetached = marathon.EventStreamDetachedType
	evUnknownEnded   = marathon.EventUnknownInstanceTermType
	evHealthChanged  = marathon.EventHealthStatusChangedType
	evInstanceHealth = marathon.EventInstanceHealthChangedType
	evHealthFailed   = marathon.EventFailedHealthCheckType
	evUnhealthyKill  = marathon.EventUnhealthyInstanceKillType
	evInstance       = marathon.EventInstanceChangedType
	evRegistered     = marathon.EventSchedulerRegisteredType
	evReregistered   = marathon.EventSchedulerReregisteredType
	evDisconnected   = marathon.EventSchedulerDisconnectedType
)

// event is one event, encoded once for every subscriber.
type event struct {
	Type string
	Data []byte
}

// newEvent encodes v, a struct with eventType and timestamp fields, as an event.
func newEvent(typ string, v any) event {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"eventType":%q}`, typ))
	}
	return event{Type: typ, Data: b}
}

// timestamp formats t as Marathon does in events and versions.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// hub fans events out to /v2/events subscribers. A subscriber too slow to keep up is dropped
// rather than allowed to hold back the others.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch     chan event
	filter []string // event types wanted; empty: all
	closed bool
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(filter []string) *subscriber {
	s := &subscriber{ch: make(chan event, 4096), filter: filter}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		if !s.closed {
			s.closed = true
			close(s.ch)
		}
	}
}

func (h *hub) publish(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if len(s.filter) > 0 && !slices.Contains(s.filter, e.Type) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			delete(h.subs, s)
			s.closed = true
			close(s.ch)
		}
	}
}

// closeAll ends every subscription, as when leadership is lost: clients reconnect to the new
// leader through any instance.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		delete(h.subs, s)
		if !s.closed {
			s.closed = true
			close(s.ch)
		}
	}
}

// serveEvents streams events as Server-Sent Events until the client goes or the hub closes.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query()["event_type"]
	sub := s.hub.subscribe(filter)
	// Every subscriber, this one first, hears of a stream attached and detached, as in Marathon.
	stream := func(typ string) event {
		return newEvent(typ, marathon.EventStreamAttached{
			EventMeta:     marathon.EventMeta{EventType: typ, Timestamp: timestamp(s.now())},
			RemoteAddress: remoteIP(r),
		})
	}
	defer func() {
		s.hub.unsubscribe(sub)
		s.hub.publish(stream(evStreamDetached))
	}()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.WriteHeader(http.StatusOK)
	s.hub.publish(stream(evStreamAttached))
	_ = rc.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ":\n\n"); err != nil {
				return
			}
			_ = rc.Flush()
		case e, ok := <-sub.ch:
			if !ok {
				return
			}
			if writeSSE(w, e) != nil {
				return
			}
			// Write what is queued before flushing: one flush per burst.
			for n := len(sub.ch); n > 0; n-- {
				if writeSSE(w, <-sub.ch) != nil {
					return
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

func writeSSE(w http.ResponseWriter, e event) error {
	if e.Data == nil {
		return nil
	}
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, e.Data)
	return err
}
