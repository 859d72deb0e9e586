package master

import (
	"net/http"
	"strings"

	consolemaster "github.com/marina-dcos/marina/internal/console/master"
)

// mountConsole serves the web console at / and under consolemaster.Prefix. Only the leader
// shows it: a standby answers 307 to the same page on the leader (503 while none is known).
func (m *Master) mountConsole(mux *http.ServeMux) {
	console := consolemaster.Handler(m.log.With("component", "console"))
	h := m.wrap(func(w http.ResponseWriter, r *http.Request) (any, error) {
		if !m.IsLeader() {
			return nil, m.notLeader(r)
		}
		console.ServeHTTP(w, r)
		return nil, errStreamed
	})
	mux.Handle("/{$}", h)
	mux.Handle(consolemaster.Prefix, h)
}

// consoleToLeader sends a browser that opens a standby's console to the leader's before it
// authenticates, so it logs in where it will stay: a login on the standby would end in a
// cross-origin redirect, which the login form's Content Security Policy refuses, and in a
// session cookie for the wrong host. The redirect tells no more than the public
// /master/redirect does.
func (m *Master) consoleToLeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, consolemaster.Prefix)
		if page && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !m.IsLeader() {
			if leader := m.Leader(); leader != "" && leader != m.URL() {
				http.Redirect(w, r, strings.TrimRight(leader, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
