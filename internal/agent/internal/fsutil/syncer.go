package fsutil

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"sync"
)

// Syncer makes files and directories durable in batches, off the paths that write them. A
// writer writes without syncing (Replace, Append), which is enough to survive its own crash,
// and marks what it wrote; Run fsyncs everything marked since its last batch in one pass, so
// that any number of writes made while a batch syncs share the next one. A writer that must
// not act before its data is durable (a status update that ends a task is sent only once
// synced) keeps the batch number Mark returns and checks Synced, or waits for OnSynced.
type Syncer struct {
	log      *slog.Logger
	onSynced func()
	wake     chan struct{}

	mu      sync.Mutex
	dirty   map[string]struct{}
	filling uint64 // the batch marks join now
	synced  uint64 // the last batch made durable
}

// NewSyncer returns a syncer; onSynced, when not nil, is called after each batch.
func NewSyncer(log *slog.Logger, onSynced func()) *Syncer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{log: log, onSynced: onSynced, wake: make(chan struct{}, 1),
		dirty: map[string]struct{}{}, filling: 1}
}

// Mark queues paths (files, or directories whose entries changed) for the next batch and
// returns that batch's number.
func (s *Syncer) Mark(paths ...string) uint64 {
	s.mu.Lock()
	for _, p := range paths {
		s.dirty[p] = struct{}{}
	}
	b := s.filling
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return b
}

// Synced reports whether batch b is durable; batch 0 always is.
func (s *Syncer) Synced(b uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return b <= s.synced
}

// Run syncs batches until ctx ends, then syncs what is still marked and returns.
func (s *Syncer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			s.flush()
			return
		case <-s.wake:
		}
		s.flush()
	}
}

// flush syncs the paths marked so far as one batch. A path that is gone (a checkpoint removed
// after it was marked) needs nothing; other failures are logged, and the batch counts as done:
// the data stays in the page cache, and only a machine crash could lose it.
func (s *Syncer) flush() {
	s.mu.Lock()
	if len(s.dirty) == 0 {
		s.mu.Unlock()
		return
	}
	paths := slices.Collect(maps.Keys(s.dirty))
	clear(s.dirty)
	b := s.filling
	s.filling++
	s.mu.Unlock()
	for _, p := range paths {
		if err := Sync(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("sync checkpoint", "path", p, "err", err)
		}
	}
	s.mu.Lock()
	s.synced = b
	s.mu.Unlock()
	if s.onSynced != nil {
		s.onSynced()
	}
}
