// Package sandbox finds a task's sandbox in Mesos' state documents, as Mesos tools do: the
// leading master's /master/state names the task's framework, executor and agent; the agent's
// /state names the executor's sandbox directory, which the agent's /files API serves. Marina's
// agents keep a task's sandbox at <work_dir>/sandboxes/<framework>/<executor> and accept /files
// paths relative to the sandboxes directory (Dir), the answer when the agent's /state does not
// name the directory.
//
// The CLI and the services console fetch the documents with GetJSON, each its own way: from the
// agents directly, or through the master's agent proxy. GetJSON sends a bearer token, and a
// client made by KeepToken sends it again when a standby master redirects to the leader.
package sandbox
