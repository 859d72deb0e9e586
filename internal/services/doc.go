// Package services is the services role: the Marathon-compatible framework every master node
// runs next to the Mesos master.
//
// It owns apps (every version), groups (every version), their instances, deployments and the
// framework id, all kept in etcd under /marina/services/. Data enters through the Marathon REST API v2 (http.go and the
// *_api.go files) and through the master's scheduler API stream (scheduler.go: offers and status
// updates); it leaves as calls to the master (ACCEPT, DECLINE, KILL, REVIVE, SUPPRESS,
// ACKNOWLEDGE, RECONCILE), as REST answers and as Server-Sent Events on /v2/events.
//
// The instances of the role elect a leader through etcd (coord.Elector); only the leader holds
// state (a leader per term, leader.go) and talks to the master, through internal/client/scheduler
// only. Standbys proxy REST calls to it (proxy.go). Decisions are pure functions tested without
// a cluster: plan.go (how many instances to launch and which to kill), groups_plan.go (the
// steps of a deployment, by dependencies), placement.go (whether an instance fits an offer) and
// backoff.go.
//
// It never imports internal/master or internal/agent: it reaches them over the wire.
package services
