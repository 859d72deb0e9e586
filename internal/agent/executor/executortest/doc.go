// Package executortest is the conformance suite every executor.Executor passes: launch, exit
// codes, environment, kill with and without a cooperative task, launch failures (which must name
// the program), a burst of launches at once, and recovery by a fresh executor instance after the
// first was closed.
//
// The test package that runs it must call supervisor.MaybeRun in TestMain when the executor
// starts supervisor processes.
package executortest
