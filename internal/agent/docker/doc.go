// Package docker is the Docker executor: it runs tasks whose container.type is DOCKER as Docker
// Engine containers, through the Engine API (the Moby Go client, never the docker CLI), and
// implements executor.Executor beside the command executor (package process).
//
// # Data in and out
//
// A task's ContainerInfo becomes a container create request (spec.go, params.go, network.go):
// the image (pulled only when missing or when force_pull_image asks), the command with Mesos'
// semantics (a shell command overrides the image's entrypoint with /bin/sh -c; otherwise the
// value and arguments are appended to the image's entrypoint), the task's environment as the
// command executor builds it (process.Env) with MESOS_SANDBOX=/mnt/mesos/sandbox, labels,
// networking (HOST, BRIDGE with port mappings, NONE, USER networks by name), host path volumes,
// cpu shares and quota, a memory limit without swap, and a documented subset of docker run
// parameters. Containers are named marina-<container id> and labelled marina.agent_id,
// marina.framework_id, marina.task_id and marina.container_id.
//
// Launch returns once the container started (so Started answers at once); a failed pull or
// start fails the launch with the engine's message. The container's stdout and stderr are
// streamed into the sandbox's stdout and stderr files (logs.go) so /files/read serves them as it
// serves a process's; the position reached is kept in the state directory, so a follower started
// after an agent restart resumes where the last one stopped, without repeating a line.
//
// Containers serve health checks (package health) as health.Container: Exec runs a COMMAND
// check inside the container through the Engine's exec calls, killing it when its timeout ends
// (exec.go), and CheckHost says where an HTTP or TCP check of a port reaches the container
// (network.go).
//
// An agent that runs in a container of its own (a docker-provider cluster) sets
// Config.PublishedAt to where the engine publishes host ports; the executor then relays each
// BRIDGE or USER task's TCP and UDP host ports from the agent's network namespace to there, for as long
// as the container runs (forward.go), so the task answers at its agent's address.
//
// # State and recovery
//
// The state directory the agent gives each container holds what Recover needs (recover.go):
// docker.json (the container's name and image, written before the container is created) and,
// once the exit was seen, exit.json, so a task's end survives the removal of its container.
// Containers are removed only by Cleanup, after their exit was read. Orphans lists the
// containers labelled with this agent's id that no known task owns; CleanupOrphans removes them.
// Destroy removes a container from its state directory alone, for teardown without an agent.
package docker
