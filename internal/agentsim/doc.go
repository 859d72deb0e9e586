// Package agentsim simulates many Marina agents in one process, for master tests and
// benchmarks. Each simulated agent speaks the real agent stream protocol (POST /api/v1/agent,
// full-duplex RecordIO) against the leading master, found through /master/redirect: it
// registers with the configured resources, sends heartbeats, answers LAUNCH with TASK_RUNNING
// (and TASK_FINISHED after Config.TaskDuration, when set), KILL with TASK_KILLED, retries every
// update until the master forwards its acknowledgement, and re-registers with its tasks when
// its stream breaks (a master failover).
//
// Nothing runs: tasks are bookkeeping only. An agent costs one goroutine pair (its event loop
// and its stream reader) plus the HTTP connection; all agents share one http.Transport.
package agentsim
