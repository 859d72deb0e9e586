package fsutil

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestSyncer checks batch numbering: a mark joins the batch being filled, Synced turns true once
// Run has synced it, paths removed since their mark are no error, and Run flushes what is
// marked when its context ends.
func TestSyncer(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "updates")
	if err := Append(f, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	synced := make(chan struct{}, 16)
	s := NewSyncer(nil, func() { synced <- struct{}{} })
	if !s.Synced(0) {
		t.Fatal("batch 0 is not synced")
	}
	b := s.Mark(f, dir, filepath.Join(dir, "removed"))
	if b != 1 || s.Synced(b) {
		t.Fatalf("first mark: batch %d, synced %v", b, s.Synced(b))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("no batch synced")
	}
	if !s.Synced(b) {
		t.Fatalf("batch %d not synced after its notification", b)
	}
	if next := s.Mark(f); next <= b {
		t.Fatalf("mark after a sync joined batch %d, want > %d", next, b)
	}
	cancel()
	wg.Wait()
	if got := s.Mark(); !s.Synced(got - 1) {
		t.Fatalf("batch %d not synced when Run returned", got-1)
	}
	if b, _ := os.ReadFile(f); string(b) != "one\n" {
		t.Fatalf("file = %q", b)
	}
}
