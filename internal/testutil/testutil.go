package testutil

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		// The kernel may hand out a port again once it is closed: never give a port twice, or
		// two nodes of one test cluster could be told to listen on it.
		if _, taken := handedOut.LoadOrStore(port, true); !taken {
			return port
		}
	}
}

// handedOut holds every port FreePort returned in this process.
var handedOut sync.Map

// WaitFor polls cond every 10ms until it returns nil or timeout passes, then fails the test with
// cond's last error.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Context returns a context cancelled when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// Logger returns a logger that writes through t.Log, tagged with name, until the test ends.
// Benchmarks, whose logs are always printed, get warnings and errors only.
func Logger(t testing.TB, name string) *slog.Logger {
	level := slog.LevelDebug
	if _, ok := t.(*testing.B); ok {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(&tWriter{t: t, prefix: name + ": "}, &slog.HandlerOptions{Level: level}))
}

type tWriter struct {
	t      testing.TB
	prefix string
}

func (w *tWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // logging after the test ended must not crash the binary
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Buffer is a bytes.Buffer that goroutines may write and read at once: a log's destination
// that a test reads.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Port ranges for agents' tasks (PortRange): blocks of portBlock ports below the kernel's
// ephemeral range, where FreePort's ports come from.
const (
	portBlock     = 100
	portRangeLow  = 10000
	portRangeHigh = 32000
)

// PortRange reserves a block of 100 consecutive ports, [lo, lo+99], for one agent's tasks, that
// no other test process reserves while this one runs: test packages run in parallel, and two
// agents offering the same ports would have their tasks collide. The reservation is a lock on a
// file under the temporary directory, which the kernel drops when the process ends.
func PortRange(t testing.TB) (lo, hi int) {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "marina-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("port range: %v", err)
	}
	blocks := (portRangeHigh - portRangeLow) / portBlock
	for _, b := range rand.Perm(blocks) {
		lo = portRangeLow + b*portBlock
		if _, taken := reservedBlocks.Load(lo); taken {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(lo)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatalf("port range: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		reservedBlocks.Store(lo, f) // held, and so locked, for the life of the process
		return lo, lo + portBlock - 1
	}
	t.Fatal("port range: every block is reserved")
	return 0, 0
}

// reservedBlocks holds the lock file of every block PortRange reserved in this process.
var reservedBlocks sync.Map
