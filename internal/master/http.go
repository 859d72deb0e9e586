package master

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/marina-dcos/marina/internal/auth"
	"github.com/marina-dcos/marina/internal/buildinfo"
)

// httpError is an error with the HTTP status it maps to. Location is set for redirects.
type httpError struct {
	status   int
	msg      string
	location string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errStreamed is what a handler returns once it wrote its whole answer itself (a stream).
var errStreamed = errors.New("streamed")

// response is a handler's answer with a status other than 200 or headers.
type response struct {
	status int
	header http.Header
	body   any // nil: no body; []byte or string: as is; else JSON
}

var accepted = &response{status: http.StatusAccepted}

// handlerFunc is the shape of every endpoint: an answer to encode, or an error to map.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

func (m *Master) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(h handlerFunc, paths ...string) {
		for _, p := range paths {
			mux.Handle(p, m.wrap(h))
		}
	}
	handle(m.handleScheduler, "/api/v1/scheduler")
	handle(m.handleOperator, "/api/v1", "/api/v1/{$}")
	handle(m.handleAgentStream, "/api/v1/agent")
	handle(m.handleState, "/master/state", "/master/state.json", "/state", "/state.json")
	handle(m.handleStateSummary, "/master/state-summary", "/state-summary")
	handle(m.handleSlaves, "/master/slaves", "/slaves")
	handle(m.handleFrameworks, "/master/frameworks", "/frameworks")
	handle(m.handleTasks, "/master/tasks", "/master/tasks.json", "/tasks", "/tasks.json")
	handle(m.handleRedirect, "/master/redirect", "/master/redirect/", "/redirect")
	handle(m.handleHealth, "/health", "/master/health")
	handle(m.handleVersion, "/version")
	handle(m.handleMetricsSnapshot, "/metrics/snapshot")
	mux.Handle("/metrics", m.metrics.handler())
	handle(m.handleMasters, "/master/masters")
	handle(m.agentProxy(), "/agent/{id}/{call...}")
	m.mountConsole(mux)
	mux.Handle("/", m.wrap(func(http.ResponseWriter, *http.Request) (any, error) {
		return nil, errorf(http.StatusNotFound, "no such endpoint")
	}))
	return m.consoleToLeader(m.authenticator().Wrap(mux))
}

// authenticator guards every endpoint but health, version, the leader redirect and the
// console's assets. When the master verifies client certificates against a cluster CA, the
// agents' stream takes only connections that present one (mutual TLS between nodes).
func (m *Master) authenticator() *auth.Authenticator {
	var nodeOnly []string
	if m.cfg.TLSConfig != nil && m.cfg.TLSConfig.ClientCAs != nil {
		nodeOnly = []string{"/api/v1/agent"}
	}
	return auth.New(auth.Config{
		Token:    m.cfg.AuthToken,
		Public:   []string{"/health", "/master/health", "/version", "/redirect", "/master/redirect", "/master/redirect/", "/console/assets/"},
		NodeOnly: nodeOnly,
		Title:    "Marina master",
	})
}

// wrap turns a handlerFunc into an http.Handler: the one place where answers are encoded and
// errors mapped to statuses. A panic becomes a 500, never a crash.
func (m *Master) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				m.log.Error("handler panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		out, err := h(w, r)
		if err != nil {
			if errors.Is(err, errStreamed) {
				return
			}
			m.writeError(w, r, err)
			return
		}
		switch v := out.(type) {
		case nil:
			w.WriteHeader(http.StatusOK)
		case *response:
			for k, vs := range v.header {
				w.Header()[k] = vs
			}
			writeBody(w, v.status, v.body)
		default:
			writeBody(w, http.StatusOK, v)
		}
	})
}

func writeBody(w http.ResponseWriter, status int, body any) {
	switch b := body.(type) {
	case nil:
		w.WriteHeader(status)
	case []byte:
		w.WriteHeader(status)
		_, _ = w.Write(b)
	case string:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			http.Error(w, "encode answer: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(buf)
	}
}

// writeError maps err to a status: typed httpErrors carry theirs, an oversized body is 413,
// anything else is a 500 whose detail is logged, not shown.
func (m *Master) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		if he.location != "" {
			w.Header().Set("Location", he.location)
		}
		if he.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET, POST")
		}
		http.Error(w, he.msg, he.status)
	case errors.As(err, &tooBig):
		http.Error(w, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge)
	default:
		m.log.Error("request failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// notLeader returns the error for an API call made to a master that does not lead: a 307 to
// the same path on the leader, or 503 when no (other) leader is known.
func (m *Master) notLeader(r *http.Request) error {
	leader := m.Leader()
	if leader == "" || leader == m.URL() {
		return errorf(http.StatusServiceUnavailable, "no leading master is elected yet")
	}
	return &httpError{
		status:   http.StatusTemporaryRedirect,
		msg:      "not the leading master; the leader is " + leader,
		location: strings.TrimRight(leader, "/") + r.URL.RequestURI(),
	}
}

func (m *Master) handleRedirect(_ http.ResponseWriter, r *http.Request) (any, error) {
	leader := m.Leader()
	if leader == "" {
		return nil, errorf(http.StatusServiceUnavailable, "no leading master is elected yet")
	}
	u, err := url.Parse(leader)
	if err != nil || u.Host == "" {
		return nil, errorf(http.StatusServiceUnavailable, "leader address %q is not usable", leader)
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/master"), "/redirect")
	loc := "//" + u.Host + rest
	return &response{status: http.StatusTemporaryRedirect, header: http.Header{"Location": {loc}}}, nil
}

func (m *Master) handleHealth(http.ResponseWriter, *http.Request) (any, error) {
	return &response{status: http.StatusOK}, nil
}

func (m *Master) handleVersion(http.ResponseWriter, *http.Request) (any, error) {
	return buildinfo.Version(m.cfg.Version), nil
}

// requireGet refuses methods other than GET and HEAD.
func requireGet(r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errorf(http.StatusMethodNotAllowed, "expecting GET, got %s", r.Method)
	}
	return nil
}
