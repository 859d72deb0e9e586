package marathon

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// DefaultMaxEventBytes bounds one event of the stream: deployment events carry whole group
// trees.
const DefaultMaxEventBytes = 32 << 20

// ErrEventTooLarge is returned by EventReader.Next for an event or line over the limit.
var ErrEventTooLarge = errors.New("event stream: event larger than the limit")

// Event is one Server-Sent Event of the /v2/events stream.
type Event struct {
	// Type is the event field: the Marathon event type, such as deployment_success, or
	// "message" when the event had none.
	Type string
	// ID is the last event id the stream set, "" if none.
	ID string
	// Data is the data field's lines joined with "\n": for Marathon, one JSON payload.
	Data []byte
	// Err is set only on the last value Client.Events sends before closing its channel when
	// the stream ended other than through the context: it says why.
	Err error
}

// Decode decodes the event's payload into the type its eventType names (a pointer, such as
// *api.DeploymentEvent), strictly: unknown fields are errors. Callers that want to tolerate
// fields a newer server adds unmarshal Data into the payload type themselves.
func (e Event) Decode() (api.Event, error) { return api.DecodeEvent(e.Data) }

// EventReader parses a Server-Sent Events stream (the WHATWG event-stream format): lines end in
// LF, CR or CRLF; "event", "data", "id" and "retry" fields; lines starting with ":" are
// comments, which Marathon sends as keepalives; a blank line ends an event, and one with no
// data line is dropped. An event cut off by the end of the stream is dropped, as the format
// says.
type EventReader struct {
	sc      *bufio.Scanner
	max     int
	started bool
	lastID  string
	retry   time.Duration
}

// NewEventReader returns a reader of the stream r; maxEventBytes bounds one event (0: the
// default).
func NewEventReader(r io.Reader, maxEventBytes int) *EventReader {
	if maxEventBytes <= 0 {
		maxEventBytes = DefaultMaxEventBytes
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxEventBytes)
	sc.Split(splitLines)
	return &EventReader{sc: sc, max: maxEventBytes}
}

// Retry returns the reconnection delay the stream asked for with a retry field, or 0.
func (r *EventReader) Retry() time.Duration { return r.retry }

// Next returns the next event. At the end of the stream it returns io.EOF.
func (r *EventReader) Next() (Event, error) {
	var (
		typ     string
		data    bytes.Buffer
		hasData bool
	)
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		if len(line) == 0 {
			if !hasData {
				typ = ""
				continue
			}
			return Event{Type: cmpOr(typ, "message"), ID: r.lastID, Data: bytes.Clone(data.Bytes())}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			typ = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > r.max {
				return Event{}, ErrEventTooLarge
			}
			data.Write(value)
			hasData = true
		case "id":
			if !bytes.ContainsRune(value, 0) {
				r.lastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 31); err == nil && isDigits(value) {
				r.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Event{}, ErrEventTooLarge
		}
		return Event{}, fmt.Errorf("event stream: %w", err)
	}
	return Event{}, io.EOF
}

func isDigits(b []byte) bool {
	return len(b) > 0 && strings.Trim(string(b), "0123456789") == ""
}

// splitLines splits at LF, CR or CRLF. A CR at the end of the buffer waits for the next byte, to
// see whether an LF follows.
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		switch {
		case data[i] == '\n':
			return i + 1, data[:i], nil
		case i+1 < len(data) && data[i+1] == '\n':
			return i + 2, data[:i], nil
		case i+1 < len(data) || atEOF:
			return i + 1, data[:i], nil
		}
		return 0, nil, nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}
