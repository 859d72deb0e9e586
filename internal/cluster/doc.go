// Package cluster stands clusters up and takes them down: `marina up`, `marina status` and
// `marina down`.
//
// A Spec (flags, or a YAML file read by LoadSpec) says what to make: a name, 1, 3 or 5 masters,
// groups of agents with their resources and attributes, and a provider with its settings. Up
// turns it into a running cluster through a Provider (local: marina processes on loopback
// addresses of this machine; docker: containers of a node image built here, on a network of the
// cluster's own; ssh and azure), as an ordered list of named Steps run by a Runner that prints
// one line per step and rolls every step back when one fails. Providers share the layout of
// nodes and their files (nodes.go) and build every node's command line with one function
// (command.go), given the few ways they differ.
//
// What Up made is recorded in <state>/<name>/cluster.json (a Cluster: the spec, each node's
// address, ports, command line and process) and in the client config <state>/config.json, which
// lists the clusters of this machine and the current one. Status (Inspect) and Down read them
// back, in another process, so a Provider keeps everything it needs in the Cluster.
//
// Down must find the tasks the agents left running (tasks survive their agent by design): it
// reads the supervisors' pid files under the agents' work dirs, which is why this package
// imports the agent's on-disk layout helpers (internal/agent/supervisor, internal/agent/cgroups)
// and nothing else of the agent.
package cluster
