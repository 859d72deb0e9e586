// Package executor defines how the agent runs a task, whatever runs it: an Executor launches a
// task into a Container, re-attaches to containers after an agent restart, and releases their
// resources when they are gone. The command executor (package process: a supervisor process
// per task) implements it; a Docker executor will too, and both run one conformance suite
// (package executortest).
//
// Data enters as a Spec, which the agent checkpoints before it calls Launch and passes again
// to Recover after a restart. It leaves as a Container's start and Exit, which the agent turns
// into status updates.
package executor
