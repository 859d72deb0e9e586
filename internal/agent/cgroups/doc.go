// Package cgroups puts each task of the command executor in its own cgroup with the memory and
// cpu limits of its resources, on cgroup v1 and v2 hosts.
//
// Detect looks at the host once: v2 when /sys/fs/cgroup/cgroup.controllers exists, v1 otherwise.
// Task cgroups nest below the agent's own cgroup in each hierarchy (v1: <memory
// mount><agent's memory cgroup>/marina/<container> and the same for cpu; v2:
// <agent's cgroup>/marina/<container>, or /sys/fs/cgroup/marina/<container> when the agent's
// own cgroup cannot delegate controllers because it holds processes). When cgroups are missing
// or not writable, the Manager is disabled, says why, and tasks run without limits.
//
// A task joins its cgroups by writing to the cgroup.procs files of its Group before it execs
// (see package supervisor); the agent reads OOM kills from the group and destroys it once the
// task is gone.
package cgroups
