package docker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"

	"github.com/marina-dcos/marina/internal/agent/executor"
)

// Files of the sandbox and the state directory the followers write.
const (
	stdoutFile = "stdout"
	stderrFile = "stderr"
	logPosFile = "logs.pos" // how far each stream was copied; locked by the follower
)

// follower copies one container's output into its sandbox, from where the last follower of the
// container stopped, until the container stops or the follower is stopped.
type follower struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// follow starts following a container's logs, unless the executor is closed or a follower of
// the container runs already; it returns the container's follower, or nil.
func (e *Executor) follow(spec executor.Spec, dockerID string) *follower {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	if f, ok := e.followers[spec.ContainerID]; ok {
		return f
	}
	ctx, cancel := context.WithCancel(e.ctx)
	f := &follower{cancel: cancel, done: make(chan struct{})}
	e.followers[spec.ContainerID] = f
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(f.done)
		err := e.copyLogs(ctx, spec, dockerID)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("follow container logs", "container", spec.ContainerID, "err", err)
		}
		e.mu.Lock()
		if e.followers[spec.ContainerID] == f {
			delete(e.followers, spec.ContainerID)
		}
		e.mu.Unlock()
	}()
	return f
}

// stopFollower stops a container's follower and waits for it.
func (e *Executor) stopFollower(containerID string) {
	e.mu.Lock()
	f := e.followers[containerID]
	e.mu.Unlock()
	if f != nil {
		f.cancel()
		<-f.done
	}
}

// copyLogs follows the container's logs until it stopped and every line is copied. The
// position file is locked for the whole time, so two followers never copy one container.
func (e *Executor) copyLogs(ctx context.Context, spec executor.Spec, id string) error {
	posf, err := lockPosition(ctx, filepath.Join(spec.StateDir, logPosFile))
	if err != nil {
		return err
	}
	defer posf.Close()
	pos, err := readPosition(posf)
	if err != nil {
		e.log.Warn("log position unreadable: copying from the start", "container", spec.ContainerID, "err", err)
	}
	out, err := os.OpenFile(filepath.Join(spec.Sandbox, stdoutFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	errf, err := os.OpenFile(filepath.Join(spec.Sandbox, stderrFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer errf.Close()
	cp := &logCopier{files: [2]*os.File{out, errf}, posf: posf, pos: pos}

	delay := retryMin
	for {
		err := cp.session(ctx, e.cli, id)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if isNotFound(err) {
			return nil
		}
		if err != nil && strings.Contains(err.Error(), "does not support reading") {
			return fmt.Errorf("the container's log driver keeps no logs to copy: %w", err)
		}
		// The stream ends when the container stops, or when the engine drops it: go on only
		// while the container runs.
		info, ierr := e.cli.ContainerInspect(ctx, id)
		switch {
		case isNotFound(ierr):
			return nil
		case ierr == nil && info.State != nil && !info.State.Running && !info.State.Restarting:
			if err != nil {
				return err
			}
			return nil
		case err != nil:
			e.log.Warn("container log stream", "container", spec.ContainerID, "err", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, retryMax)
	}
}

// lockPosition opens and locks the position file, waiting while another follower holds it.
func lockPosition(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// streamPos is how far one stream was copied: the timestamp of the last message written and
// how many messages with that very timestamp were written. A stream's timestamps never go back.
type streamPos struct {
	ts int64 // unix nanoseconds
	n  int64
}

// position holds stdout's and stderr's.
type position [2]streamPos

// posFormat is fixed width, so the file is rewritten in place.
const posFormat = "%020d %010d %020d %010d\n"

func readPosition(f *os.File) (position, error) {
	var p position
	b := make([]byte, 128)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return p, err
	}
	if n == 0 {
		return p, nil
	}
	if _, err := fmt.Sscanf(string(b[:n]), posFormat, &p[0].ts, &p[0].n, &p[1].ts, &p[1].n); err != nil {
		return position{}, fmt.Errorf("parse %q: %w", b[:n], err)
	}
	return p, nil
}

// since is where a resumed stream starts: the earlier of the two streams' positions (the
// engine's since is inclusive; what was copied already is skipped message by message).
func (p position) since() string {
	if p[0].ts == 0 || p[1].ts == 0 {
		return ""
	}
	ts := min(p[0].ts, p[1].ts)
	return strconv.FormatInt(ts/1e9, 10) + "." + fmt.Sprintf("%09d", ts%1e9)
}

// logCopier copies messages of the engine's multiplexed log stream to the sandbox's files.
type logCopier struct {
	files [2]*os.File
	posf  *os.File
	pos   position
}

// session reads one log stream, with timestamps, from the copier's position.
func (cp *logCopier) session(ctx context.Context, cli Client, id string) error {
	rc, err := cli.ContainerLogs(ctx, id, dcontainer.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true, Since: cp.pos.since(),
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	return cp.copy(bufio.NewReaderSize(rc, 64<<10))
}

// copy reads frames: an 8-byte header (stream, 3 zero bytes, big-endian length) and a payload,
// one log message each, "<RFC 3339 timestamp> <message>". stdcopy.StdCopy would merge
// messages; the copier needs each one's timestamp to know what it copied already.
func (cp *logCopier) copy(r *bufio.Reader) error {
	var hdr [8]byte
	var seen [2]int64 // messages seen at the stream's position timestamp, this session
	buf := make([]byte, 0, 32<<10)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		size := binary.BigEndian.Uint32(hdr[4:])
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		var s int
		switch hdr[0] {
		case 0, 1: // stdin is never sent; treat it as stdout
			s = 0
		case 2:
			s = 1
		case 3:
			return fmt.Errorf("engine: %s", buf)
		default:
			return fmt.Errorf("log stream: bad frame header %x", hdr)
		}
		ts, msg, err := splitTimestamp(buf)
		if err != nil {
			return err
		}
		p := &cp.pos[s]
		switch {
		case ts < p.ts:
			continue
		case ts == p.ts:
			seen[s]++
			if seen[s] <= p.n {
				continue
			}
			p.n = seen[s]
		default:
			*p = streamPos{ts: ts, n: 1}
			seen[s] = 1
		}
		if _, err := cp.files[s].Write(msg); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(io.NewOffsetWriter(cp.posf, 0), posFormat, cp.pos[0].ts, cp.pos[0].n, cp.pos[1].ts, cp.pos[1].n); err != nil {
			return err
		}
	}
}

// splitTimestamp splits "<timestamp> <message>".
func splitTimestamp(b []byte) (int64, []byte, error) {
	for i, c := range b {
		if c == ' ' {
			t, err := time.Parse(time.RFC3339Nano, string(b[:i]))
			if err != nil {
				return 0, nil, fmt.Errorf("log timestamp: %w", err)
			}
			return t.UnixNano(), b[i+1:], nil
		}
	}
	return 0, nil, fmt.Errorf("log message without a timestamp: %.40q", b)
}
