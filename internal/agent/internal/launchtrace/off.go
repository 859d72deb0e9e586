//go:build !launchtrace

package launchtrace

import "time"

// Mark records that task reached phase now: nothing, without the build tag launchtrace.
func Mark(task, phase string) {}

// MarkAt records that task reached phase at t: nothing, without the build tag launchtrace.
func MarkAt(task, phase string, t time.Time) {}
