package marathontest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
)

// Reply is what the server answers to one method and path.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Request is a request the server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Server is a scripted Marathon API on an httptest server.
type Server struct {
	*httptest.Server
	// Token, when set before the first request, is the Bearer token every request must carry.
	Token string

	mu       sync.Mutex
	replies  map[string]Reply
	handlers map[string]http.HandlerFunc
	requests []Request
	subs     map[*subscriber]struct{}
	done     chan struct{}
}

type subscriber struct {
	types []string
	ch    chan []byte // one framed SSE event, or nil to end the stream
}

// New starts a server that answers 404 to everything until told otherwise; it stops when the
// test ends.
func New(t testing.TB) *Server {
	s := &Server{
		replies:  map[string]Reply{},
		handlers: map[string]http.HandlerFunc{},
		subs:     map[*subscriber]struct{}{},
		done:     make(chan struct{}),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.done)
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func key(method, path string) string { return method + " " + path }

// Reply sets the answer to method and path (the unescaped path, without query). header holds
// name, value pairs.
func (s *Server) Reply(method, path string, status int, body []byte, header ...string) {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Add(header[i], header[i+1])
	}
	if len(body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	s.mu.Lock()
	s.replies[key(method, path)] = Reply{Status: status, Header: h, Body: body}
	delete(s.handlers, key(method, path))
	s.mu.Unlock()
}

// ReplyJSON sets the answer to method and path to v as JSON.
func (s *Server) ReplyJSON(method, path string, status int, v any, header ...string) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marathontest: %v", err))
	}
	s.Reply(method, path, status, b, header...)
}

// Handle serves method and path with h, for answers that change.
func (s *Server) Handle(method, path string, h http.HandlerFunc) {
	s.mu.Lock()
	s.handlers[key(method, path)] = h
	delete(s.replies, key(method, path))
	s.mu.Unlock()
}

// Requests returns the requests received so far, /v2/events included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Last returns the last request for method and path.
func (s *Server) Last(method, path string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if r := s.requests[i]; r.Method == method && r.Path == path {
			return r, true
		}
	}
	return Request{}, false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	rep, hasReply := s.replies[key(r.Method, r.URL.Path)]
	h := s.handlers[key(r.Method, r.URL.Path)]
	token := s.Token
	s.mu.Unlock()
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Invalid username or password."})
		return
	}
	switch {
	case h != nil:
		h(w, r)
	case hasReply:
		for k, vs := range rep.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(rep.Status)
		_, _ = w.Write(rep.Body)
	case r.Method == http.MethodGet && r.URL.Path == "/v2/events":
		s.serveEvents(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("marathontest: no reply for %s %s", r.Method, r.URL.Path)})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
