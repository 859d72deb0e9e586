package marathon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
)

// Events subscribes to the event stream (GET /v2/events), to the given event types only when
// any are given (event_type=...; the client filters as well). Subscription errors are returned;
// afterwards events arrive on the channel until ctx ends or the stream does, when the channel
// closes. A stream that ended other than through ctx sends a last Event whose Err says why (io.EOF
// when the server closed it). Reconnecting is the caller's job. Cancel ctx when done reading:
// the goroutine that feeds the channel waits for a reader or ctx.
func (c *Client) Events(ctx context.Context, types ...string) (<-chan Event, error) {
	q := url.Values{}
	for _, t := range types {
		q.Add("event_type", t)
	}
	req := request{method: http.MethodGet, path: "/v2/events", query: q, accept: "text/event-stream"}
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		if resp.StatusCode < 400 {
			return nil, &APIError{Method: req.method, Path: req.path, Status: resp.StatusCode, Message: "unexpected status for an event stream"}
		}
		return nil, readAPIError(req, resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v2/events: answer is %q, not text/event-stream", resp.Header.Get("Content-Type"))
	}
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		rd := NewEventReader(resp.Body, 0)
		for {
			ev, err := rd.Next()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !errors.Is(err, io.EOF) {
					err = fmt.Errorf("event stream: %w", err)
				}
				select {
				case ch <- Event{Err: err}:
				case <-ctx.Done():
				}
				return
			}
			if len(types) > 0 && !slices.Contains(types, ev.Type) {
				continue
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
