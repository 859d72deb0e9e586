// Package supervisor is the small process that runs each task of the command executor.
//
// The agent starts its own binary again as supervisor, in a new session, so the supervisor
// outlives the agent (a kill -9 of the agent leaves tasks running). Usually it starts it ahead of
// any task, with MARINA_SUPERVISOR=- ("pooled"): the supervisor then waits, idle, for the path of
// its Spec file on an inherited pipe, and exits quietly, having touched nothing, when the pipe
// closes first (see Pooled). MARINA_SUPERVISOR set to a Spec file's path runs that spec at once.
// The package's init runs the supervisor before the binary's heavier packages are initialized;
// every binary that runs an agent, and every test package that starts one, also calls MaybeRun
// first thing in main or TestMain:
//
//	func TestMain(m *testing.M) { supervisor.MaybeRun(); os.Exit(m.Run()) }
//
// The supervisor resolves the task's program (a missing one fails the launch with a clear
// error) and starts it in its own process group. Without cgroups it starts it directly. With
// cgroups a POSIX shell gate holds the task until the supervisor has written its pid into the
// task's cgroup.procs files, so the task runs confined from its first instruction while the
// supervisor stays outside; a command whose argv[0] the gate would change goes through the exec
// shim (the same binary once more, with MARINA_SUPERVISOR_EXEC set), which joins the cgroups
// and execs it. A pooled supervisor given its future task's cgroup (MARINA_SUPERVISOR_CGROUP_PROCS)
// starts the gate while idle and puts it in that cgroup then, off the launch's path; the agent,
// which holds the gate's pipe, lets it run a script that runs the task's command with env(1)
// before it hands the supervisor the spec, and the supervisor, finding the script, takes the
// running task over (warm.go). The supervisor records, in the state directory, its pid (supervisor.pid), the
// task's process group (task.pgid), a started marker (started), and tells the agent that the
// task started over a second inherited pipe; when the command ends it records its exit
// (exit.json, written atomically and synced). SIGTERM sent to the supervisor is forwarded to the
// task's process group.
//
// Data enters through the Spec file and leaves through those files: the agent reads them both
// while it is the supervisor's parent and after it restarted (see package process). The files
// that only describe running processes are not synced: after a machine crash they would name
// processes that are gone anyway.
package supervisor
