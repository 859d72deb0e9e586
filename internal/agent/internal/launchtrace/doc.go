// Package launchtrace records when a task's launch passes each phase, from the LAUNCH event
// to the TASK_RUNNING update, across the agent and the task's supervisor process. It exists to
// measure where launch latency goes (bench: BenchmarkLaunchToRunning prints the breakdown) and
// costs nothing otherwise: without the build tag launchtrace, Mark is an empty function.
//
// Built with -tags launchtrace, a process whose environment names a file in EnvFile appends
// one line per mark to it, "<unix nanoseconds> <task id> <phase>"; the agent passes the
// variable on to its supervisors, which mark their phases in the same file.
package launchtrace

// EnvFile names the file marks are appended to.
const EnvFile = "LAUNCH_TRACE_FILE"

// Phases of a launch, in order.
const (
	Received     = "received"     // the agent read the LAUNCH event
	Checkpointed = "checkpointed" // task.json and the sandbox written
	Confined     = "cgroup"       // the task's cgroup made (with cgroups only)
	Handed       = "handed"       // the supervisor has its spec
	Assigned     = "assigned"     // the supervisor read its assignment
	Forked       = "forked"       // the task's process started, held at the gate with cgroups
	Released     = "released"     // the task's process in its cgroups and let go
	Told         = "told"         // the agent heard that the task runs
	Sent         = "sent"         // TASK_RUNNING handed to the master stream
)

// Cold marks a launch that found no idle supervisor and started one: not a phase, a remark.
const Cold = "cold"
