// Package proc answers questions about processes that are not necessarily children of the
// caller: is a pid still the process we started (start time from /proc), and wait until it exits
// (through a pidfd, so waiting on a process adopted after an agent restart costs no polling).
package proc
