//go:build launchtrace

package launchtrace

import (
	"fmt"
	"os"
	"sync"
	"time"
)

var (
	mu   sync.Mutex
	file *os.File // opened at the first mark, nil when EnvFile names none
	open sync.Once
)

// Mark records that task reached phase now.
func Mark(task, phase string) { MarkAt(task, phase, time.Now()) }

// MarkAt records that task reached phase at t.
func MarkAt(task, phase string, t time.Time) {
	open.Do(func() {
		if p := os.Getenv(EnvFile); p != "" {
			file, _ = os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		}
	})
	if file == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(file, "%d %s %s\n", t.UnixNano(), task, phase)
}
