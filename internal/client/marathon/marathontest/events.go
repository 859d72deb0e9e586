package marathontest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// serveEvents streams what Publish sends, as Marathon's /v2/events does, honouring
// event_type filters.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	sub := &subscriber{types: r.URL.Query()["event_type"], ch: make(chan []byte, 64)}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case frame := <-sub.ch:
			if frame == nil {
				return
			}
			if _, err := w.Write(frame); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}
}

// Subscribers returns the number of open event streams.
func (s *Server) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// WaitSubscribers waits up to timeout until at least n event streams are open.
func (s *Server) WaitSubscribers(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for s.Subscribers() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("marathontest: %d event streams open, want %d", s.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Publish sends an event to every stream subscribed to its type: payload is marshalled to JSON
// unless it is already []byte.
func (s *Server) Publish(eventType string, payload any) {
	data, ok := payload.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(payload); err != nil {
			panic(fmt.Sprintf("marathontest: %v", err))
		}
	}
	s.PublishRaw(eventType, []byte(fmt.Sprintf("event: %s\ndata: %s\n\n", eventType, data)))
}

// PublishRaw writes frame, bytes in the event-stream format, to every stream subscribed to
// eventType ("" for every stream).
func (s *Server) PublishRaw(eventType string, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		if eventType == "" || len(sub.types) == 0 || slices.Contains(sub.types, eventType) {
			sub.ch <- frame
		}
	}
}

// EndEvents ends every open event stream, as a server that loses its leadership does.
func (s *Server) EndEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		sub.ch <- nil
		delete(s.subs, sub)
	}
}
