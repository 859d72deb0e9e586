package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/marina-dcos/marina/internal/client/sandbox"
)

// pageBytes is how much one /files/read asks for (the agent's own bound).
const pageBytes = 1 << 20

// TaskLogsOptions are task logs' flags.
type TaskLogsOptions struct {
	Follow bool // keep printing what the task writes, until ctx ends (Ctrl-C)
	Stderr bool // the task's stderr instead of its stdout
}

// TaskLogs prints a task's stdout (or stderr) from its sandbox on its agent, paging through the
// agent's /files/read; with Follow it polls for more every LogPoll until ctx ends, which is not
// an error. A file that does not exist yet is waited for when following.
func TaskLogs(ctx context.Context, e *Env, id string, o TaskLogsOptions) error {
	task, err := findTask(ctx, e.Client, id)
	if err != nil {
		return err
	}
	sb, err := e.locateSandbox(ctx, task)
	if err != nil {
		return err
	}
	name := "stdout"
	if o.Stderr {
		name = "stderr"
	}
	file := sandboxFile(sb.dir, name)
	var offset int64
	for {
		data, err := e.readPage(ctx, sb.agent, file, offset)
		var se *sandbox.StatusError
		switch {
		case err != nil && o.Follow && ctx.Err() != nil:
			return nil
		case err != nil && errors.As(err, &se) && se.Status == http.StatusNotFound:
			if !o.Follow {
				return notFoundf("task %s has no %s in its sandbox %s on %s", id, name, sb.dir, sb.agent)
			}
		case err != nil:
			return fmt.Errorf("read the %s of task %s: %w", name, id, err)
		case len(data) > 0:
			if _, err := e.Out.Write(data); err != nil {
				return err
			}
			offset += int64(len(data))
			continue
		case !o.Follow:
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.LogPoll):
		}
	}
}

// readPage reads up to pageBytes of a sandbox file from offset.
func (e *Env) readPage(ctx context.Context, agent, file string, offset int64) ([]byte, error) {
	q := url.Values{"path": {file}, "offset": {strconv.FormatInt(offset, 10)}, "length": {strconv.Itoa(pageBytes)}}
	var page struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if err := e.getJSON(ctx, agent+"/files/read?"+q.Encode(), &page); err != nil {
		return nil, err
	}
	if page.Offset != offset && page.Data != "" {
		return nil, fmt.Errorf("agent answered offset %d for %d", page.Offset, offset)
	}
	return []byte(page.Data), nil
}
