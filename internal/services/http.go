package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/auth"
	servicesconsole "github.com/marina-dcos/marina/internal/console/services"
)

// errNotLeader is returned by changes attempted after the leadership was lost.
var errNotLeader = errors.New("services: leadership lost")

// apiError is an answer other than 200 with the body Marathon gives.
type apiError struct {
	Status int
	Body   any
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e.Body)
	return fmt.Sprintf("%d %s", e.Status, b)
}

// message is Marathon's {"message": ...} body.
type message struct {
	Message string `json:"message"`
}

func msg(format string, args ...any) message { return message{Message: fmt.Sprintf(format, args...)} }

func errAppNotFound(id string) error {
	return &apiError{Status: http.StatusNotFound, Body: msg("App '%s' does not exist", id)}
}

func errTaskNotFound(id string) error {
	return &apiError{Status: http.StatusNotFound, Body: msg("Task '%s' does not exist", id)}
}

// rawJSON is an answer already encoded.
type rawJSON []byte

// reply is a successful answer with a status other than 200, or extra headers.
type reply struct {
	status int
	header http.Header
	body   any // nil: no body
}

// apiFunc serves one REST call on the leader.
type apiFunc func(r *http.Request, l *leader) (any, error)

// errorResponse maps an error to its HTTP status and body: the one place where this happens.
func errorResponse(err error) (int, any) {
	var ae *apiError
	var de *marathon.DecodeError
	var ve *marathon.ValidationError
	var se *marathon.SyntaxError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.Status, ae.Body
	case errors.As(err, &de):
		return http.StatusBadRequest, de.ValidationError
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, ve
	case errors.As(err, &se):
		return http.StatusBadRequest, marathon.ValidationError{Message: marathon.MsgInvalidJSON, Details: []marathon.ErrorDetail{{Path: "/", Errors: []string{se.Error()}}}}
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, msg("Request body larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, errNotLeader):
		return http.StatusServiceUnavailable, msg("Leadership was lost while serving the request; try again")
	}
	return http.StatusInternalServerError, msg("%v", err)
}

// serveAPI serves a REST call on the leader, or proxies it to the leader.
func (s *Server) serveAPI(route string, f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := s.cur.Load()
		if l == nil {
			s.proxy.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		v, err := f(r, l)
		code := http.StatusOK
		switch {
		case err != nil:
			var body any
			code, body = errorResponse(err)
			if code >= 500 {
				s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
			}
			writeJSON(w, code, body)
		default:
			if raw, ok := v.(rawJSON); ok {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(code)
				_, _ = w.Write(raw)
				break
			}
			if t, ok := v.(textReply); ok {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = io.WriteString(w, string(t))
				break
			}
			if rep, ok := v.(reply); ok {
				for k, vs := range rep.header {
					w.Header()[k] = vs
				}
				code = rep.status
				if rep.body == nil {
					w.WriteHeader(code)
					break
				}
				v = rep.body
			}
			writeJSON(w, code, v)
		}
		s.metrics.requests.WithLabelValues(route, fmt.Sprint(code)).Observe(time.Since(start).Seconds())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(msg("encoding the answer: %v", err))
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// readBody reads a request body within the configured limit.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
}

// readChange reads what a call that changes apps or groups takes: the force query parameter
// and the body.
func (s *Server) readChange(r *http.Request) (force bool, body []byte, err error) {
	if force, err = boolParam(r, "force", false); err != nil {
		return false, nil, err
	}
	body, err = s.readBody(r)
	return force, body, err
}

// boolParam reads a boolean query parameter ("true"/"false"), def when absent.
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	switch strings.ToLower(v) {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, &apiError{Status: http.StatusBadRequest, Body: msg("Query parameter %s must be true or false, got %q", name, v)}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "pong\n")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /v2/leader", s.getLeader)
	mux.HandleFunc("DELETE /v2/leader", s.serveAPI("leader", s.deleteLeader))
	mux.HandleFunc("GET /v2/info", s.serveAPI("info", s.getInfo))
	mux.HandleFunc("GET /v2/apps", s.serveAPI("apps", s.listApps))
	mux.HandleFunc("POST /v2/apps", s.serveAPI("apps", s.postApp))
	mux.HandleFunc("/v2/apps/", s.serveAPI("app", s.appRoute))
	mux.HandleFunc("PUT /v2/apps", s.serveAPI("apps", s.putApps))
	mux.HandleFunc("PATCH /v2/apps", s.serveAPI("apps", s.putApps))
	mux.HandleFunc("/v2/groups", s.serveAPI("groups", s.groupsRoute))
	mux.HandleFunc("/v2/groups/", s.serveAPI("groups", s.groupsRoute))
	mux.HandleFunc("GET /v2/tasks", s.serveAPI("tasks", s.listTasks))
	mux.HandleFunc("POST /v2/tasks/delete", s.serveAPI("tasks_delete", s.deleteTasks))
	mux.HandleFunc("GET /v2/queue", s.serveAPI("queue", s.getQueue))
	mux.HandleFunc("DELETE /v2/queue/{path...}", s.serveAPI("queue_delay", s.resetQueueDelay))
	mux.HandleFunc("GET /v2/deployments", s.serveAPI("deployments", s.listDeployments))
	mux.HandleFunc("DELETE /v2/deployments/{id}", s.serveAPI("deployment", s.deleteDeployment))
	mux.HandleFunc("GET /v2/events", func(w http.ResponseWriter, r *http.Request) {
		if !s.IsLeader() {
			s.proxy.ServeHTTP(w, r)
			return
		}
		s.serveEvents(w, r)
	})
	mux.Handle("/ui/", servicesconsole.Handler(servicesconsole.Config{Masters: s.cfg.Masters, AuthToken: s.cfg.AuthToken, ClientTLS: s.cfg.ClientTLS, Logger: s.log}))
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, msg("Not found: %s %s", r.Method, r.URL.Path))
	})
	return s.common(mux)
}

// common names the leader on every answer, then authenticates every call but /ping and the
// console's assets.
func (s *Server) common(next http.Handler) http.Handler {
	authed := auth.New(auth.Config{
		Token:  s.cfg.AuthToken,
		Public: []string{"/ping", "/ui/assets/"},
		Title:  "Marina services",
		Home:   "/ui/",
		Unauthorized: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, msg("Unauthorized: a valid bearer token is required"))
		},
	}).Wrap(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if leader := s.Leader(); leader != "" {
			w.Header().Set(headerLeader, leader)
		}
		authed.ServeHTTP(w, r)
	})
}

// remoteIP returns the client's address without its port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func contextWith(ctx context.Context, k, v any) context.Context { return context.WithValue(ctx, k, v) }

func splitHostPort(hp string) (string, string, error) { return net.SplitHostPort(hp) }
