package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"

	"github.com/marina-dcos/marina/internal/auth"
)

// maxBodyBytes bounds request bodies; the agent's API reads none of consequence.
const maxBodyBytes = 1 << 20

// httpError carries an HTTP status for an API error.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

// apiFunc is an endpoint: it returns a value to encode as JSON, or nil when it wrote the
// response itself, or an error.
type apiFunc func(w http.ResponseWriter, r *http.Request) (any, error)

func (a *Agent) handler() http.Handler {
	mux := http.NewServeMux()
	authed := auth.New(auth.Config{Token: a.cfg.AuthToken, Public: []string{"/health"}, Title: "Marina agent"})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, p := range []string{"/state", "/state.json", "/slave(1)/state"} {
		mux.Handle("GET "+p, a.api(a.serveState))
	}
	mux.Handle("POST /detect", a.api(a.redetect))
	for _, p := range []string{"/monitor/statistics", "/monitor/statistics.json", "/slave(1)/monitor/statistics"} {
		mux.Handle("GET "+p, a.api(a.serveStatistics))
	}
	for _, p := range []string{"/metrics/snapshot", "/slave(1)/metrics/snapshot"} {
		mux.Handle("GET "+p, a.api(a.serveMetrics))
	}
	for p, f := range map[string]apiFunc{"/version": a.serveVersion, "/flags": a.serveFlags} {
		mux.Handle("GET "+p, a.api(f))
		mux.Handle("GET /slave(1)"+p, a.api(f))
	}
	for p, f := range map[string]apiFunc{
		"/files/browse":   a.filesBrowse,
		"/files/read":     a.filesRead,
		"/files/download": a.filesDownload,
	} {
		mux.Handle("GET "+p, a.api(f))
		mux.Handle("GET "+p+".json", a.api(f))
	}
	return authed.Wrap(mux)
}

// api wraps an endpoint with a body limit, JSON encoding and the one mapping of errors to HTTP
// statuses. Authentication wraps the whole handler.
func (a *Agent) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		v, err := f(w, r)
		if err != nil {
			code, msg := http.StatusInternalServerError, err.Error()
			var he *httpError
			switch {
			case errors.As(err, &he):
				code = he.code
			case errors.Is(err, fs.ErrNotExist):
				code, msg = http.StatusNotFound, "not found"
			}
			if code == http.StatusInternalServerError {
				a.log.Warn("api error", "path", r.URL.Path, "err", err)
			}
			http.Error(w, msg, code)
			return
		}
		if v == nil {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(v); err != nil {
			a.log.Debug("write response", "path", r.URL.Path, "err", err)
		}
	})
}
