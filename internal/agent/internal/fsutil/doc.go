// Package fsutil holds the small file helpers the agent's checkpoints rely on: atomic replacement
// of a file (durable, or not for files that only describe running processes), appends, and a
// Syncer that makes what was written without syncing durable in batches, off the paths that
// write it.
package fsutil
