// Package fsutil holds the small file helpers the agent's checkpoints rely on: atomic replacement
// of a file and durable appends.
package fsutil
