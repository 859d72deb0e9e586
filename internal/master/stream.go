package master

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// maxQueued bounds a stream's outbound queue: a peer that falls this far behind is cut off and
// must reconnect (agents re-register, schedulers re-subscribe).
const maxQueued = 50000

// outQueue is a stream's outbound queue: the master pushes events under its lock without ever
// blocking, and the stream's writer goroutine takes them in batches.
type outQueue struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{} // has a value when items is non-empty
	done   chan struct{} // closed by close
	once   sync.Once
	reason string
}

func newOutQueue() *outQueue {
	return &outQueue{signal: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues v. It reports false when the queue is closed, or closes it when it overflows.
func (q *outQueue) push(v any) bool {
	q.mu.Lock()
	select {
	case <-q.done:
		q.mu.Unlock()
		return false
	default:
	}
	if len(q.items) >= maxQueued {
		q.mu.Unlock()
		q.close("outbound queue overflow")
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// take returns and empties what is queued.
func (q *outQueue) take() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// close ends the stream: the writer writes what is already queued (best effort) and stops. It is
// idempotent.
func (q *outQueue) close(reason string) {
	q.once.Do(func() {
		q.mu.Lock()
		q.reason = reason
		q.mu.Unlock()
		close(q.done)
	})
}

func (q *outQueue) closed() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

// writeLoop writes queued events to w as RecordIO records, flushing after each batch, and the
// heartbeat event every interval, until the queue closes (it then writes what is left), ctx
// ends or a write fails. A write that takes longer than writeTimeout fails.
func writeLoop(ctx context.Context, w http.ResponseWriter, q *outQueue, interval time.Duration, heartbeat any, writeTimeout time.Duration) error {
	rc := http.NewResponseController(w)
	rw := mesos.NewRecordWriter(w)
	t := time.NewTicker(interval)
	defer t.Stop()
	write := func(items []any) error {
		if len(items) == 0 {
			return nil
		}
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		for _, it := range items {
			if err := rw.WriteJSON(it); err != nil {
				return err
			}
		}
		return rc.Flush()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-q.done:
			_ = write(q.take())
			return nil
		case <-q.signal:
			if err := write(q.take()); err != nil {
				return err
			}
		case <-t.C:
			if err := write([]any{heartbeat}); err != nil {
				return err
			}
		}
	}
}
