// Package agent is Marina's Mesos agent role: it registers with the leading master, runs the
// tasks the master launches through an executor (package process, the command executor), and
// reports their status updates reliably.
//
// # Lifecycle
//
// New checks a Config; Start binds the HTTP listener, recovers the checkpoint under
// WorkDir/meta (re-attaching to tasks still running from a previous agent process) and starts
// the connection loop; Close stops HTTP and the master stream but never the tasks, which
// survive agent restarts.
//
// # Data in and out
//
// The connection loop finds the leader through any master (GET /master/redirect) and keeps
// one full-duplex stream to it, POST /api/v1/agent: AgentCall records (REGISTER, UPDATE,
// HEARTBEAT) go out in the request body, AgentEvent records (REGISTERED, LAUNCH, KILL,
// ACKNOWLEDGED, SHUTDOWN_FRAMEWORK, HEARTBEAT, ERROR) come back in the response (stream.go).
//
// Status updates are reliable, as Mesos' status update manager makes them (updates.go): each
// gets a random UUID, is appended to the task's checkpoint before it is sent, and is resent
// with backoff until the framework acknowledges it; per task, one update is outstanding at a
// time, in order. A task leaves the checkpoint when its terminal update is acknowledged.
//
// Checkpoints are written without waiting for the disk, which is enough to survive the agent's
// crash, and made durable by a syncer that fsyncs, in one pass, whatever was written since its
// last (fsutil.Syncer): the launch path and the agent's lock never wait for an fsync. A
// terminal update is sent only once its checkpoint is durable; the others, resent until
// acknowledged anyway, go out at once.
//
// Checkpoint layout (checkpoint.go), under WorkDir:
//
//	meta/agent_id                                        the id the master assigned
//	meta/frameworks/<framework>/framework.json           FrameworkInfo
//	meta/frameworks/<framework>/tasks/<task>/task.json   TaskInfo, container, kill request
//	meta/frameworks/<framework>/tasks/<task>/updates     status updates and acks, appended
//	meta/frameworks/<framework>/tasks/<task>/executor/   the executor's state (supervisor files)
//	sandboxes/<framework>/<task>/                        the task's working directory
//
// Each task runs under a supervisor process of its own session (package supervisor, through
// the executor.Executor in package process, which keeps a few supervisors started ahead so a
// launch need not wait for one), so tasks outlive the agent; the agent learns that a task runs
// from its supervisor at once, and of its end through a pidfd on the supervisor, whether it
// started it or adopted it after a restart. Close stops the idle supervisors but never kills
// tasks; KillTasks does, for nodes torn down for good. Sandboxes of forgotten tasks are removed
// after a week (gc.go).
//
// The agent also serves /files/browse, /files/read, /files/download (confined to the
// sandboxes), /state (the Mesos agent state JSON) and /health (files.go, state.go, http.go).
// With an AuthToken, every endpoint but /health requires it as a bearer token.
//
// A task with a health check has it run by the agent once it is reported running (package
// health, healthcheck.go): changes of health go out as TASK_RUNNING updates with healthy set,
// and a task that fails its check consecutive_failures times is killed (docs/health.md).
//
// # Resource limits
//
// Tasks run in per-task cgroups (package cgroups) with memory and cpu limits from their
// resources when the host allows (cgroup v1 or v2, writable: in practice, the agent runs as
// root); a task killed for exceeding its memory fails with REASON_CONTAINER_LIMITATION_MEMORY.
// Otherwise the agent logs once, at start, that tasks run without limits, and runs them so.
package agent
