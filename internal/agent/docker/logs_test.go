package docker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type frame struct {
	stream byte
	ts     time.Time
	msg    string
}

func frames(fs ...frame) *bufio.Reader {
	var b bytes.Buffer
	for _, f := range fs {
		payload := f.ts.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") + " " + f.msg
		hdr := [8]byte{f.stream}
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
		b.Write(hdr[:])
		b.WriteString(payload)
	}
	return bufio.NewReader(&b)
}

func newCopier(t *testing.T) (*logCopier, string) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	posf, err := os.OpenFile(filepath.Join(dir, logPosFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { posf.Close() })
	return &logCopier{files: [2]*os.File{open(stdoutFile), open(stderrFile)}, posf: posf}, dir
}

func read(t *testing.T, dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLogCopierResumes replays a stream from an earlier point, as the engine does for since,
// and checks that nothing is written twice, even messages sharing a timestamp, and that stderr
// messages older than stdout's position are not lost.
func TestLogCopierResumes(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 123)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	all := []frame{
		{1, at(0), "a\n"}, {1, at(1), "b\n"}, {1, at(1), "c\n"}, {2, at(0), "e1\n"},
		{1, at(2), "d\n"}, {2, at(3), "e2\n"}, {1, at(3), "f\n"},
	}
	cp, dir := newCopier(t)
	// The first session stops after "c" and "e1" (at t0, behind stdout's t0+1).
	if err := cp.copy(frames(all[:4]...)); err != nil {
		t.Fatal(err)
	}
	pos, err := readPosition(cp.posf)
	if err != nil || pos != cp.pos || pos[0] != (streamPos{at(1).UnixNano(), 2}) || pos[1] != (streamPos{at(0).UnixNano(), 1}) {
		t.Fatalf("position %+v (in memory %+v), %v", pos, cp.pos, err)
	}
	if got := pos.since(); got != "1700000000.000000123" {
		t.Fatalf("since = %q", got)
	}
	// A new copier (a new agent) resumes: the engine replays from since.
	cp2, _ := newCopier(t)
	cp2.files, cp2.posf = cp.files, cp.posf
	cp2.pos, _ = readPosition(cp.posf)
	if err := cp2.copy(frames(all...)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, stdoutFile); got != "a\nb\nc\nd\nf\n" {
		t.Fatalf("stdout = %q", got)
	}
	if got := read(t, dir, stderrFile); got != "e1\ne2\n" {
		t.Fatalf("stderr = %q", got)
	}
}

func TestLogCopierRejectsGarbage(t *testing.T) {
	cp, _ := newCopier(t)
	if err := cp.copy(bufio.NewReader(bytes.NewReader([]byte{9, 0, 0, 0, 0, 0, 0, 1, 'x'}))); err == nil {
		t.Fatal("bad stream accepted")
	}
	if err := cp.copy(frames(frame{3, time.Now(), "engine says no"})); err == nil {
		t.Fatal("engine error frame ignored")
	}
}
