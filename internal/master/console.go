package master

import (
	"net/http"

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
