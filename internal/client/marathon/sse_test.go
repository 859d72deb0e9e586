package marathon_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func readAll(t *testing.T, r *marathon.EventReader) []marathon.Event {
	t.Helper()
	var out []marathon.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, ev)
	}
}

func TestEventReaderReadsTheExampleStream(t *testing.T) {
	events := readAll(t, marathon.NewEventReader(bytes.NewReader(marathontest.Example(t, "events.txt")), 0))
	wantTypes := []string{"event_stream_attached", "status_update_event", "status_update_event"}
	if len(events) != len(wantTypes) {
		t.Fatalf("%d events, want %d", len(events), len(wantTypes))
	}
	for i, ev := range events {
		if ev.Type != wantTypes[i] {
			t.Errorf("event %d: type %q, want %q", i, ev.Type, wantTypes[i])
		}
		payload, err := ev.Decode()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if payload.Type() != ev.Type {
			t.Errorf("event %d: payload type %q", i, payload.Type())
		}
	}
	su := must(events[1].Decode()).(*api.StatusUpdateEvent)
	if su.TaskStatus != "TASK_FAILED" || su.AppID != "/foo" || su.Ports[0] != 31776 {
		t.Errorf("status update = %+v", su)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEventReader(t *testing.T) {
	type ev struct{ typ, id, data string }
	cases := []struct {
		name  string
		in    string
		want  []ev
		retry time.Duration
	}{
		{"lf", "event: a\ndata: 1\n\n", []ev{{"a", "", "1"}}, 0},
		{"crlf", "event: a\r\ndata: 1\r\n\r\n", []ev{{"a", "", "1"}}, 0},
		{"cr", "event: a\rdata: 1\r\r", []ev{{"a", "", "1"}}, 0},
		{"no event field", "data: x\n\n", []ev{{"message", "", "x"}}, 0},
		{"multi-line data", "data: a\ndata:b\ndata\n\n", []ev{{"message", "", "a\nb\n"}}, 0},
		{"one space stripped", "data:  two\n\n", []ev{{"message", "", " two"}}, 0},
		{"comments and keepalives", ":\n\n: hello\nevent: a\n:x\ndata: 1\n\n:\n\n", []ev{{"a", "", "1"}}, 0},
		{"no data: dropped, type reset", "event: a\n\ndata: 1\n\n", []ev{{"message", "", "1"}}, 0},
		{"id persists", "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", []ev{{"message", "7", "a"}, {"message", "7", "b"}, {"message", "", "c"}}, 0},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n", []ev{{"message", "1", "a"}, {"message", "1", "b"}}, 0},
		{"retry", "retry: 1500\ndata: a\n\nretry: 1x\n\n", []ev{{"message", "", "a"}}, 1500 * time.Millisecond},
		{"unknown fields ignored", "foo: bar\ndata: a\n\n", []ev{{"message", "", "a"}}, 0},
		{"bom", "\ufeffdata: a\n\n", []ev{{"message", "", "a"}}, 0},
		{"cut off at eof", "data: a\n\ndata: b\n", []ev{{"message", "", "a"}}, 0},
		{"empty data", "data:\n\n", []ev{{"message", "", ""}}, 0},
		{"colon in value", "data: {\"a\":1}\n\n", []ev{{"message", "", `{"a":1}`}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time too: a CR at the end of a read must wait for the next byte.
			for _, r := range []io.Reader{strings.NewReader(tc.in), &oneByte{s: tc.in}} {
				rd := marathon.NewEventReader(r, 0)
				got := readAll(t, rd)
				if len(got) != len(tc.want) {
					t.Fatalf("%d events %+v, want %d", len(got), got, len(tc.want))
				}
				for i, w := range tc.want {
					if got[i].Type != w.typ || got[i].ID != w.id || string(got[i].Data) != w.data {
						t.Errorf("event %d = {%q %q %q}, want %+v", i, got[i].Type, got[i].ID, got[i].Data, w)
					}
				}
				if rd.Retry() != tc.retry {
					t.Errorf("retry = %v, want %v", rd.Retry(), tc.retry)
				}
			}
		})
	}
}

type oneByte struct {
	s string
	i int
}

func (r *oneByte) Read(p []byte) (int, error) {
	if r.i >= len(r.s) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[r.i]
	r.i++
	return 1, nil
}

func TestEventReaderLimit(t *testing.T) {
	for _, in := range []string{
		"data: " + strings.Repeat("x", 200) + "\n\n",                    // one long line
		strings.Repeat("data: "+strings.Repeat("x", 60)+"\n", 5) + "\n", // many lines
	} {
		_, err := marathon.NewEventReader(strings.NewReader(in), 100).Next()
		if !errors.Is(err, marathon.ErrEventTooLarge) {
			t.Errorf("err = %v, want ErrEventTooLarge", err)
		}
	}
}
