// Package process is the command executor: it runs each task as a command under its own
// supervisor process (package supervisor), optionally confined in a per-task cgroup (package
// cgroups), and implements executor.Executor.
//
// Launch writes the supervisor's spec into the container's state directory and starts the
// supervisor in a new session, so tasks survive the agent. Everything needed to find a task
// again lives in that directory (the supervisor's pid and start time, the task's process group,
// the cgroup, the started marker and the exit status), so Recover re-attaches after a restart
// by reading it and watching the supervisor through a pidfd.
package process
