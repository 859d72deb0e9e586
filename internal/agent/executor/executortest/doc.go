// Package executortest is the conformance suite every executor.Executor passes: launch, exit
// codes, environment, kill with and without a cooperative task, output streamed into the
// sandbox's stdout and stderr while the task runs, the sandbox as working directory shared with
// the host, memory limits (when the harness says the executor enforces them), launch failures
// (which must name the program), a burst of launches at once, and recovery by a fresh executor
// instance after the first was closed.
//
// Workloads are POSIX shell commands that run alike under the host's sh and in a busybox image
// (scripts/build-test-image.sh), where the shell is the container's first process.
//
// The test package that runs it must call supervisor.MaybeRun in TestMain when the executor
// starts supervisor processes.
package executortest
