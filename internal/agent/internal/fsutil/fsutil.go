package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic replaces path with data: it writes a temporary file in the same directory, syncs
// it, renames it over path and syncs the directory, so a crash leaves either the old or the new
// content, never a mix.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, data, perm, true)
}

// Replace replaces path with data through a temporary file and a rename, as WriteAtomic does,
// but syncs nothing: readers never see a partial file, yet a machine crash may lose the update or
// leave the file empty. It serves files that describe running processes (pids, markers), which
// mean nothing after a machine crash, when every process is gone anyway; skipping their fsyncs
// keeps them off the path that starts tasks.
func Replace(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, data, perm, false)
}

func writeAtomic(path string, data []byte, perm os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if werr == nil && durable {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if !durable {
		return nil
	}
	return Sync(dir)
}

// Sync fsyncs a file, or a directory so that entries created or renamed in it are durable.
func Sync(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// Append appends data to path (created when missing) without syncing it: the data survives
// the writer's crash at once, a machine crash once the file and its directory are synced (see
// Syncer).
func Append(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("append %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append %s: %w", path, err)
	}
	return nil
}

// Exists reports whether path exists.
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
