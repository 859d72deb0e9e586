// Package master is Marina's Mesos master role: it keeps the registry of agents, the frameworks
// subscribed through the v1 scheduler API, their offers and tasks, and serves the operator API.
//
// Exactly one master leads, chosen by a coord.Elector on /marina/master/leader; standbys answer
// API calls with a 307 to the leader (503 when none is known) and serve the operator endpoints
// with empty lists. Each leadership term starts from the registry persisted in etcd (agents and
// frameworks only, written through fenced Term transactions) and a fresh master ID; tasks are
// rebuilt from what agents report when they re-register, as Mesos does. A new leader calls POST
// /detect on every agent of the registry that has not re-registered, so that agents whose stream
// to a silently dead leader would wait out their silence timeout re-register at once.
//
// Data enters through HTTP: agents keep one full-duplex RecordIO stream each on POST
// /api/v1/agent (AgentCall in, AgentEvent out), schedulers call POST /api/v1/scheduler (JSON
// calls, one RecordIO event stream per SUBSCRIBE). Resource accounting and fairness are the
// allocator's (package allocator); the master calls it under its lock and turns what Run returns
// into OFFERS events. Every outbound stream has its own writer goroutine and queue, so a slow
// peer never blocks the master. It leaves as events on those streams, the operator JSON
// (/master/state and friends), /metrics/snapshot and Prometheus /metrics. The leader also serves
// the web console (package console/master) at / and relays sandbox reads to the agents
// (/agent/{id}/state and /agent/{id}/files/..., with the cluster's credentials).
package master
