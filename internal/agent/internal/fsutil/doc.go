// Package fsutil holds the small file helpers the agent's checkpoints rely on: atomic replacement
// of a file (durable, or not for files that only describe running processes) and durable appends.
package fsutil
