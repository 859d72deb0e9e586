package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/client/sandbox"
)

const (
	// readLength is how much of a file one read returns: a page of a log.
	readLength = 64 << 10
	// maxAnswer bounds what is read from a master or an agent.
	maxAnswer = 64 << 20
	// locateTTL is how long a task's found sandbox is reused: a followed log reads every second.
	locateTTL = 30 * time.Second
)

// errNotFound marks a task or file that does not exist (404 to the browser).
var errNotFound = errors.New("not found")

// sandboxes finds tasks' sandboxes in the leading master's state and reads their files through
// the master's agent proxy (/agent/<agent-id>/files/read), which alone reaches the agents.
type sandboxes struct {
	masters []string
	token   string
	http    *http.Client
	log     *slog.Logger

	mu    sync.Mutex
	found map[string]located // by task id
}

// located is where a task's files are: its agent's id and its sandbox directory, as the
// agent's /files paths name it (relative to its sandboxes directory).
type located struct {
	agent, dir string
	at         time.Time
}

// readAnswer is the agent's /files/read answer, with the offset to read from next (the size of
// the file when the offset asked for was -1).
type readAnswer struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
	Next   int64  `json:"next"`
}

// serveRead answers GET /ui/api/tasks/{task}/files/{file}?offset=N with up to readLength bytes
// of the task's stdout or stderr from offset N; offset -1 asks for the file's size.
func (s *sandboxes) serveRead(w http.ResponseWriter, r *http.Request) {
	task, file := r.PathValue("task"), r.PathValue("file")
	if file != "stdout" && file != "stderr" {
		writeError(w, http.StatusNotFound, "only a task's stdout and stderr can be read here, not %q", file)
		return
	}
	offset, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || offset < -1 {
		writeError(w, http.StatusBadRequest, "offset must be a number of bytes, or -1 for the size")
		return
	}
	ans, err := s.read(r.Context(), task, file, offset)
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
		return
	case err != nil:
		s.log.Debug("console: read sandbox", "task", task, "file", file, "err", err)
		writeError(w, http.StatusBadGateway, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(ans)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf(format, args...)})
}

// read reads a task's file from offset, locating the task again when its cached place fails.
func (s *sandboxes) read(ctx context.Context, task, file string, offset int64) (*readAnswer, error) {
	loc, cached, err := s.locate(ctx, task)
	if err != nil {
		return nil, err
	}
	ans, err := s.readAt(ctx, loc, file, offset)
	if err != nil && cached {
		s.forget(task)
		if loc, _, err = s.locate(ctx, task); err != nil {
			return nil, err
		}
		ans, err = s.readAt(ctx, loc, file, offset)
	}
	return ans, err
}

func (s *sandboxes) readAt(ctx context.Context, loc located, file string, offset int64) (*readAnswer, error) {
	q := url.Values{"path": {loc.dir + "/" + file}, "offset": {strconv.FormatInt(offset, 10)}, "length": {strconv.Itoa(readLength)}}
	var ans readAnswer
	if err := s.fromMaster(ctx, "/agent/"+url.PathEscape(loc.agent)+"/files/read?"+q.Encode(), &ans); err != nil {
		return nil, fmt.Errorf("read %s of agent %s: %w", file, loc.agent, err)
	}
	ans.Next = ans.Offset + int64(len(ans.Data))
	return &ans, nil
}

// locate finds the agent and sandbox directory of a task, from the cache when it is fresh;
// cached reports which.
func (s *sandboxes) locate(ctx context.Context, task string) (loc located, cached bool, err error) {
	now := time.Now()
	s.mu.Lock()
	loc, ok := s.found[task]
	s.mu.Unlock()
	if ok && now.Sub(loc.at) < locateTTL {
		return loc, true, nil
	}
	var st sandbox.MasterState
	if err := s.fromMaster(ctx, "/master/state", &st); err != nil {
		return located{}, false, err
	}
	p, found := st.Locate(task)
	if !found {
		return located{}, false, fmt.Errorf("task %s: %w on the leading master", task, errNotFound)
	}
	loc = located{agent: p.Agent, dir: p.Dir(), at: now}
	s.mu.Lock()
	if s.found == nil {
		s.found = map[string]located{}
	}
	for k, v := range s.found {
		if now.Sub(v.at) >= locateTTL {
			delete(s.found, k)
		}
	}
	s.found[task] = loc
	s.mu.Unlock()
	return loc, false, nil
}

func (s *sandboxes) forget(task string) {
	s.mu.Lock()
	delete(s.found, task)
	s.mu.Unlock()
}

// fromMaster GETs path from the first master that answers (a standby redirects to the leader)
// and decodes its JSON answer into out.
func (s *sandboxes) fromMaster(ctx context.Context, path string, out any) error {
	if len(s.masters) == 0 {
		return errors.New("this services instance knows no master to read sandboxes through")
	}
	var errs []error
	for _, m := range s.masters {
		err := s.getJSON(ctx, strings.TrimSuffix(m, "/")+path, out)
		if err == nil || errors.Is(err, errNotFound) {
			return err
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no master answered: %w", errors.Join(errs...))
}

// getJSON GETs u with the token and decodes the JSON answer; a 404 is errNotFound.
func (s *sandboxes) getJSON(ctx context.Context, u string, out any) error {
	err := sandbox.GetJSON(ctx, s.http, u, s.token, maxAnswer, out)
	var se *sandbox.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return fmt.Errorf("GET %s: %w", u, errNotFound)
	}
	return err
}
