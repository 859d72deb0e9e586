// Package process is the command executor: it runs each task as a command under its own
// supervisor process (package supervisor), optionally confined in a per-task cgroup (package
// cgroups), and implements executor.Executor.
//
// Starting the agent's binary costs tens of milliseconds, so Start keeps a few supervisors
// started ahead, idle, in sessions of their own (pool.go); Close stops them. Launch writes the
// supervisor's spec into the container's state directory, records the supervisor's pid there
// and hands the spec's path to an idle supervisor (or to one started for the launch when none
// is idle), so tasks survive the agent. The supervisor says over a pipe when the task runs, which
// Container.Started waits for without polling. With cgroups, each idle supervisor comes with
// the cgroup of its future task, in which it has already put the task's process, held at a gate
// whose pipe the executor holds: Launch sets the task's limits on that cgroup (named warm-...,
// recorded in the state directory) and lets the gate run the task itself, so a launch neither
// moves a process between cgroups (on cgroup v1 a move waits for an RCU grace period) nor waits
// for the supervisor to be scheduled; the supervisor takes the running task over. The pool
// refills once launches in flight are over, so that starting supervisors does not compete with
// them for the CPU.
//
// Everything needed to find a task again lives in the state directory (the supervisor's pid and
// start time, the task's process group, the cgroup, the started marker and the exit status), so
// Recover re-attaches after a restart by reading it and watching the supervisor through a pidfd.
// Idle supervisors have no state directory: recovery and teardown never see them.
package process
