// Package supervisor is the small process that runs each task of the command executor.
//
// The agent starts its own binary again with MARINA_SUPERVISOR set to the path of a Spec file in
// the task's state directory, in a new session, so the supervisor outlives the agent (a kill -9
// of the agent leaves tasks running). Every binary that runs an agent, and every test package
// that starts one, calls MaybeRun first thing in main or TestMain:
//
//	func TestMain(m *testing.M) { supervisor.MaybeRun(); os.Exit(m.Run()) }
//
// The supervisor starts the task's command through a tiny exec shim (the same binary once more,
// with MARINA_SUPERVISOR_EXEC set) in its own process group: the shim joins the task's cgroups
// and execs the command, reporting an exec failure over an inherited pipe. The supervisor then
// records, in the state directory, its pid (supervisor.pid), the task's process group
// (task.pgid), a started marker (started) and, when the command ends, its exit (exit.json,
// written atomically). SIGTERM sent to the supervisor is forwarded to the task's process group.
//
// Data enters through the Spec file and leaves through those files: the agent reads them both
// while it is the supervisor's parent and after it restarted (see package process).
package supervisor
