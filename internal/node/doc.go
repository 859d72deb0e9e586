// Package node composes Marina's roles into the two kinds of node a cluster has: a master node runs
// an etcd member (coord), the Mesos-style master and the services scheduler side by side; an agent
// node runs the agent. cmd/marina's subcommands and the in-process test cluster both start nodes
// through this package, so tests exercise exactly what the binary runs. With TLS files (a node
// certificate, its key and the cluster CA) every listener of a node serves https and the node
// presents its certificate to the others it calls; a master's etcd member uses them too.
package node
