package marathon_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

// FuzzEventReader feeds the SSE parser arbitrary bytes: it must not panic or exceed its limit,
// and the events it finds, written out again in the event-stream format, must parse to the
// same events.
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{
		"event: a\ndata: 1\n\n", "data: a\r\ndata: b\r\n\r\n", ":\n\n", "id: 1\rretry: 10\rdata\r\r",
		"\ufeffdata: x\n\n", "data: x", "event\n\ndata:\n\n",
	} {
		f.Add([]byte(s))
	}
	if dir, err := marathontest.FindExamplesDir(); err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "events.txt")); err == nil {
			f.Add(b)
		}
	}
	const limit = 4096
	f.Fuzz(func(t *testing.T, in []byte) {
		var got []marathon.Event
		rd := marathon.NewEventReader(bytes.NewReader(in), limit)
		for {
			ev, err := rd.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, marathon.ErrEventTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(ev.Data) > limit {
				t.Fatalf("event of %d bytes over the limit", len(ev.Data))
			}
			got = append(got, ev)
		}
		// Re-encode and parse again: the same events come out.
		var b strings.Builder
		for _, ev := range got {
			if strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.ID, "\r\n") {
				t.Fatalf("field with a line break: %q %q", ev.Type, ev.ID)
			}
			fmt.Fprintf(&b, "event: %s\nid: %s\n", ev.Type, ev.ID)
			for line := range strings.SplitSeq(string(ev.Data), "\n") {
				fmt.Fprintf(&b, "data: %s\n", line)
			}
			b.WriteString("\n")
		}
		again := marathon.NewEventReader(strings.NewReader(b.String()), 1<<20)
		for i, want := range got {
			ev, err := again.Next()
			if err != nil {
				t.Fatalf("re-parse of event %d: %v", i, err)
			}
			if ev.Type != want.Type || ev.ID != want.ID || !bytes.Equal(ev.Data, want.Data) {
				t.Fatalf("event %d: %+v after a round trip, want %+v", i, ev, want)
			}
		}
	})
}
